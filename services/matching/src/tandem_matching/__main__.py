"""``python -m tandem_matching``: run the matching service."""

from tandem_chassis import serve

from tandem_matching.bootstrap import build_app
from tandem_matching.config import Settings


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
