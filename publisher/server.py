"""The application ``publisher serve`` runs in granian's worker process.

The command resolves the settings (``PUBLISHER_*`` variables, then its options) and gives
granian ``partial(front, settings)`` as the target's loader: the worker builds the app from
those settings, handed over with the worker's start, so nothing goes through the
environment. ``publisher.wsgi:app`` is the same service for any WSGI server.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from publisher.config import Settings

if TYPE_CHECKING:
    from publisher.web.front import Front


def front(settings: Settings) -> Front:
    """The Flask app behind the front that reads request bodies on the event loop
    (``publisher.web.front``)."""
    # Imported here, in the worker: granian's main process only supervises it, and would
    # otherwise hold Flask and the whole app (about 17 MB) for nothing.
    from publisher.app import create_app
    from publisher.web.front import Front

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return Front(create_app(settings), settings.threads, settings.body_timeout)
