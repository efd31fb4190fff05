"""moto's server with one request at a time, for stepcart's tests.

Stock `moto_server` handles requests on several threads without a lock, so two concurrent
TransactWriteItems can both pass their conditions and both apply: DynamoDB itself never does that
(conflicting transactions are serialised or cancelled). Serialising the application keeps the
connections threaded (keep-alive clients are not starved) while giving each request DynamoDB's
atomicity, so the tests judge stepcart's concurrency, not moto's.

Usage: python moto_server.py PORT   (binds 127.0.0.1 only)
"""

import os
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # The body is read and the response built inside the lock: moto's backends run here.
            return list(app(environ, start_response))

    run_simple(
        "127.0.0.1",
        port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
