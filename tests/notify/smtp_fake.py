"""A tiny SMTP server on 127.0.0.1 for tests, on raw sockets (no aiosmtpd
here), that can also misbehave: refuse (554 greeting), stall (accept and
never answer), drop (accept and close at once), or refuse the login. It
records every command line it receives, so tests can check what a client
sent (and what it did not: no AUTH without TLS)."""
import base64
import socket
import threading


class FakeSMTP:
    def __init__(self, mode="ok"):
        self.mode = mode
        self.commands = []   # every line received, in order
        self.messages = []   # (mail_from, [rcpt...], data bytes)
        self.logins = []     # decoded AUTH PLAIN credentials: (user, password)
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._held = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, scheme="smtp"):
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def close(self):
        self._stop.set()
        self._sock.close()
        for c in self._held:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        if self.mode == "stall":
            self._held.append(conn)  # never a byte; closed by close()
            return
        if self.mode == "drop":
            conn.close()
            return
        try:
            self._session(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _session(self, conn):
        f = conn.makefile("rb")
        send = lambda text: conn.sendall(text.encode() + b"\r\n")
        if self.mode == "refuse":
            send("554 5.3.2 no service for you")
            return
        send("220 fake ESMTP")
        mail_from, rcpts = None, []
        while True:
            raw = f.readline()
            if not raw:
                return
            line = raw.decode("latin-1").rstrip("\r\n")
            self.commands.append(line)
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                send("250-fake\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif verb == "HELO":
                send("250 fake")
            elif verb == "AUTH":
                parts = line.split()
                if len(parts) < 3:
                    send("334 ")
                    parts.append(f.readline().decode("latin-1").strip())
                    self.commands.append(parts[2])
                _, user, password = base64.b64decode(parts[2]).decode().split("\0")
                self.logins.append((user, password))
                send("535 5.7.8 bad credentials" if self.mode == "bad-login" else "235 2.7.0 ok")
            elif verb == "MAIL":
                mail_from, rcpts = line.split(":", 1)[1].strip().strip("<>"), []
                send("250 ok")
            elif verb == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
                send("250 ok")
            elif verb == "DATA":
                send("354 go on")
                data = b""
                while True:
                    chunk = f.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.messages.append((mail_from, rcpts, data))
                send("250 queued")
            elif verb == "QUIT":
                send("221 bye")
                return
            elif verb in ("RSET", "NOOP"):
                send("250 ok")
            else:
                send("502 not implemented")
