"""localstripe (PyPI `localstripe`) on 127.0.0.1 only, in memory, for stepcart's tests.

The stock launcher binds '::' (every interface) and pickles its whole store to
/tmp/localstripe.pickle on every write, so two test servers would share (and clobber) one file
and a later run would start from an earlier run's data. This launcher keeps the store in
memory only and listens on the loopback address alone.

Usage: python localstripe_server.py PORT
"""

import sys

from aiohttp import web

import localstripe.resources
import localstripe.server


def main() -> None:
    port = int(sys.argv[1])
    store = localstripe.resources.Store
    store.dump_to_disk = lambda self: None
    store.try_load_from_disk = lambda self: None
    web.run_app(localstripe.server.app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
