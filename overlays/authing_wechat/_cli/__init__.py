"""The ``authing-wechat`` command line: ``token``, ``mock-server`` and ``demo``.

``_main`` parses and dispatches; each subcommand lives in a module of its own and imports what
it needs when it runs, so that ``import authing_wechat._cli`` stays cheap.
"""

from ._main import main

__all__ = ["main"]
