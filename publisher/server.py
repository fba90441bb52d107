"""The application ``publisher serve`` runs: settings come from PUBLISHER_* variables.

granian imports ``app`` in its worker process: the Flask app behind the front that reads
request bodies on the event loop (``publisher.web.front``). ``publisher.wsgi:app`` is the
same service for any WSGI server.
"""

import logging

from publisher.app import create_app
from publisher.web.front import Front

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
_flask = create_app()
_settings = _flask.extensions["publisher.settings"]
app = Front(_flask, _settings.threads, _settings.body_timeout)
