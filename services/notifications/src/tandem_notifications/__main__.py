"""``python -m tandem_notifications``: run the notifications service."""

from tandem_chassis import serve

from tandem_notifications.bootstrap import build_app
from tandem_notifications.config import Settings


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
