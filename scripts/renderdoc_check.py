#!/usr/bin/python3
"""Opens a RenderDoc capture of wgpu-gan and checks that the labelled passes and dispatches are
in it. Usage: renderdoc_check.py CAPTURE.rdc LABEL [LABEL ...]; prints the action tree and exits
non-zero if a label is missing. Needs Debian's python3-renderdoc (system python3)."""
import sys

import renderdoc as rd


def walk(actions, depth, out):
    for a in actions:
        out.append(("  " * depth) + a.GetName(controller.GetStructuredFile()))
        walk(a.children, depth + 1, out)


if len(sys.argv) < 3:
    sys.exit(__doc__)
rd.InitialiseReplay(rd.GlobalEnvironment(), [])
cap = rd.OpenCaptureFile()
status = cap.OpenFile(sys.argv[1], "", None)
if status != rd.ResultCode.Succeeded:
    sys.exit(f"cannot open {sys.argv[1]}: {status}")
status, controller = cap.OpenCapture(rd.ReplayOptions(), None)
if status != rd.ResultCode.Succeeded:
    sys.exit(f"cannot replay {sys.argv[1]}: {status}")
names = []
walk(controller.GetRootActions(), 0, names)
print("\n".join(names))
dispatches = [n for n in names if "Dispatch" in n]
print(f"{len(names)} actions, {len(dispatches)} dispatches")
missing = [label for label in sys.argv[2:] if not any(label in n for n in names)]
controller.Shutdown()
cap.Shutdown()
rd.ShutdownReplay()
if missing or not dispatches:
    sys.exit(f"missing from the capture: {missing or 'every dispatch'}")
