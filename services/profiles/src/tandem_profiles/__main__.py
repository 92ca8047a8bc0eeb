"""``python -m tandem_profiles``: run the profiles service."""

from tandem_chassis import serve

from tandem_profiles.bootstrap import build_app
from tandem_profiles.config import Settings


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
