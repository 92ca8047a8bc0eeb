"""``python -m tandem_console`` / ``tandem-console``: run the web console."""

from tandem_chassis import serve

from tandem_console.app import build_app
from tandem_console.config import Settings


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
