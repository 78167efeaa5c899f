"""The tutorial's views block (mysite/views.py)."""

from tests.mozilla_rp.tutorial import live_block

exec(live_block("views"), globals())
