# A throwaway SMTP server for tests (aiosmtpd, Debian's python3-aiosmtpd): binds 127.0.0.1 on a free
# port, prints "PORT <n>", stores each accepted mail as DIR/mail-<n>.eml (written to a temporary
# name first, then renamed, so a reader never sees half a mail). Refuses the first REFUSE mails
# with 554 at the end of DATA (REFUSE -1: every mail), appending a line to DIR/refused.log each time.
# With CERT and KEY (PEM files) it offers STARTTLS with them and refuses mail sent without it.
# Usage: /usr/bin/python3 smtp_sink.py DIR REFUSE [CERT KEY]
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, folder, refuse):
        self.folder = folder
        self.refuse = refuse
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse != 0:
            if self.refuse > 0:
                self.refuse -= 1
            with open(os.path.join(self.folder, "refused.log"), "a") as log:
                log.write("refused\n")
            return "554 5.7.1 refused by the test server"
        self.count += 1
        name = os.path.join(self.folder, "mail-%06d.eml" % self.count)
        with open(name + ".tmp", "wb") as out:
            out.write(envelope.original_content)
        with open(name + ".rcpt.tmp", "w") as out:
            out.write("\n".join(envelope.rcpt_tos) + "\n")
        os.rename(name + ".rcpt.tmp", name[:-4] + ".rcpt")
        os.rename(name + ".tmp", name)
        return "250 OK stored"


async def main():
    handler = Handler(sys.argv[1], int(sys.argv[2]))
    loop = asyncio.get_running_loop()
    if len(sys.argv) > 4:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        factory = lambda: SMTP(handler, tls_context=context, require_starttls=True)
    else:
        factory = lambda: SMTP(handler)
    server = await loop.create_server(factory, "127.0.0.1", 0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
