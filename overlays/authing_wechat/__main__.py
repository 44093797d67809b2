"""``python -m authing_wechat``: the ``authing-wechat`` command line."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
