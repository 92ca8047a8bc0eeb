"""``python -m tandem_relationships``: run the relationships service."""

from tandem_chassis import serve

from tandem_relationships.bootstrap import build_app
from tandem_relationships.config import Settings


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
