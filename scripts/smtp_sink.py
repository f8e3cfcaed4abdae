"""An SMTP sink for the e-mail channel's tests (run through scripts/smtp-sink).

aiosmtpd speaks SMTP on 127.0.0.1 on a free port; every message accepted is written to --dir as
NNNN.eml (the bytes received after DATA) with NNNN.json beside it (envelope sender, recipients,
the authenticated user). Recipients whose local part starts with `reject-` are refused with
550 5.1.1 (an unknown mailbox), `busy-` with 451 4.3.0 (try later), so that tests see both kinds
of rejection. With --auth USER:PASSWORD, AUTH PLAIN/LOGIN is required and checked (over plain
text, since this is loopback: auth_require_tls=False).
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject-"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("busy-"):
            return "451 4.3.0 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.directory, "%04d" % self.count)
        body = envelope.original_content or envelope.content
        if isinstance(body, str):
            body = body.encode("utf-8")
        with open(stem + ".tmp", "wb") as f:
            f.write(body)
        user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        with open(stem + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "user": user}, f)
        # The .eml appears whole: a reader never sees half a message.
        os.rename(stem + ".tmp", stem + ".eml")
        return "250 2.0.0 Ok: queued as %04d" % self.count


def main():
    # AUTH over plain text is what this loopback sink is for: no warnings about it.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--auth", help="USER:PASSWORD; AUTH is then required")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Sink(args.dir)
    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd answers 235 or 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def factory():
        return SMTP(
            handler,
            hostname="sink.test",
            authenticator=authenticator,
            auth_required=bool(args.auth),
            auth_require_tls=False,
            enable_SMTPUTF8=True,
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print("listening 127.0.0.1 %d" % port, flush=True)
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set_result, None)
        # The test's end closes stdin: the sink stops with it, even if the test was killed.
        loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or (sys.stdin.read(1) == "" and stop.set_result(None)))
        await stop
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
