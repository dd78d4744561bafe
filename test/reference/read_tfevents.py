"""Reads the TensorBoard event files of a log directory with the tensorboard package's own reader.

stdin: {"dir": log directory}. Prints {"files": [...], "versions": [...], "scalars": [{"tag", "step", "value",
"wall_time"}]}, in file then event order. The raw loader gives each record as written (the other loader rewrites
simple_value into a tensor); its reader checks each record's length and data CRC32C, and stops at the first record
that fails, as TensorBoard does with a file still being written.
"""
import json
import os
import sys

from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2


def main():
    request = json.load(sys.stdin)
    directory = request["dir"]
    files = sorted(name for name in os.listdir(directory) if "tfevents" in name)
    scalars = []
    versions = []
    for name in files:
        for record in RawEventFileLoader(os.path.join(directory, name)).Load():
            event = event_pb2.Event.FromString(record)
            if event.HasField("file_version"):
                versions.append(event.file_version)
            for value in event.summary.value:
                scalars.append(
                    {"tag": value.tag, "step": event.step, "value": value.simple_value, "wall_time": event.wall_time}
                )
    print(json.dumps({"files": files, "versions": versions, "scalars": scalars}))


if __name__ == "__main__":
    main()
