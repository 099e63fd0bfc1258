"""Another terminal's presence, as a separate process: announces KEY until killed.

Usage: python presence_peer.py DB WHO KEY [ACTIVITY]
"""

from __future__ import annotations

import sys
import time

from opstui.sync.presence import Presence

if __name__ == "__main__":
    db, who, key = sys.argv[1:4]
    activity = sys.argv[4] if len(sys.argv) > 4 else "viewing"
    presence = Presence(db, who)
    presence.set(key, activity)
    print("ready", flush=True)
    try:
        line = sys.stdin.readline()  # a line: leave politely; kill -9: leave a stale file
        presence.close()
    finally:
        time.sleep(0)
