"""The WSGI app the production server imports: settings come from PUBLISHER_* variables."""

import logging

from publisher.app import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
