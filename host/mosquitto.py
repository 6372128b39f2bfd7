"""A local mosquitto (the Debian package) for the MQTT tests and the device day.

Broker(folder, user, password): a free 127.0.0.1 port, that one user in a
password file, no anonymous access, no persistence; its config and log in
folder. start() returns once it listens, stop(), log(). Missing names the
install command when mosquitto is not there (a failure, never a skip).
"""

import os
import shutil
import socket
import subprocess
import time

INSTALL = "apt-get install -y mosquitto"
SBIN = ("/usr/sbin/", "/usr/bin/")  # where Debian puts mosquitto, when PATH lacks it
WAIT_S = 10  # bounded real-time waits for the broker


class Missing(Exception):
    """mosquitto is not installed: the message names the install command."""


def tool(name):
    """The path of a mosquitto program, or Missing naming the install command."""
    path = shutil.which(name) or next((p for p in (d + name for d in SBIN) if os.path.exists(p)), None)
    if path is None:
        raise Missing("%s is not installed: this needs the mosquitto broker (%s)" % (name, INSTALL))
    return path


def check():
    """Missing unless both programs the Broker runs are there."""
    tool("mosquitto")
    tool("mosquitto_passwd")


class Broker:
    def __init__(self, folder, user, password):
        self.mosquitto = tool("mosquitto")
        passwd = tool("mosquitto_passwd")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        pw_file = os.path.join(folder, "mosquitto.passwd")
        subprocess.run([passwd, "-b", "-c", pw_file, user, password], check=True, capture_output=True)
        self.conf = os.path.join(folder, "mosquitto.conf")
        self.log_path = os.path.join(folder, "mosquitto.log")
        lines = [
            "listener %d 127.0.0.1" % self.port,
            "allow_anonymous false",
            "password_file " + pw_file,
            "persistence false",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # as root it would switch to a user who cannot read the files
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        """Run it; RuntimeError (with its log) when it exits or does not listen within WAIT_S."""
        with open(self.log_path, "a") as logf:
            cmd = [self.mosquitto, "-c", self.conf]
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: " + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not listen: " + self.log())

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT_S)
            self.proc = None

    def log(self):
        """The end of its log (2,000 characters), "" when there is none yet."""
        try:
            with open(self.log_path) as f:
                return f.read()[-2000:]
        except OSError:
            return ""
