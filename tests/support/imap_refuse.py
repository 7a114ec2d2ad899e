# An IMAP proxy for tests that makes a real server (dovecot) behave like a server that cannot file
# mail the usual way: it answers UID MOVE as an unknown command and leaves MOVE out of CAPABILITY
# (an older server, RFC 6851 not implemented), and with "copy" it also refuses UID COPY as over
# quota (a full mailbox). Everything else goes through unchanged. Binds 127.0.0.1 on a free port and
# prints "PORT <n>". Each refusal appends a line to DIR/refused.log ("MOVE" or "COPY").
# Usage: /usr/bin/python3 imap_refuse.py UPSTREAM_PORT move|copy DIR
import asyncio
import os
import re
import sys

UPSTREAM = int(sys.argv[1])
REFUSE_COPY = sys.argv[2] == "copy"
FOLDER = sys.argv[3]
COMMAND = re.compile(rb"^(\S+) UID (MOVE|COPY) ", re.IGNORECASE)


def note(verb):
    with open(os.path.join(FOLDER, "refused.log"), "a") as log:
        log.write(verb + "\n")


async def serve(client_reader, client_writer):
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", UPSTREAM)

    async def upstream_to_client():
        while line := await up_reader.readline():
            if b"CAPABILITY" in line:
                line = line.replace(b" MOVE", b"")
            client_writer.write(line)
            await client_writer.drain()
        client_writer.close()

    async def client_to_upstream():
        while line := await client_reader.readline():
            m = COMMAND.match(line)
            if m:
                verb = m.group(2).upper().decode()
                if verb == "MOVE":
                    note(verb)
                    client_writer.write(m.group(1) + b" BAD Error in IMAP command UID: Unknown command MOVE\r\n")
                    await client_writer.drain()
                    continue
                if REFUSE_COPY:
                    note(verb)
                    client_writer.write(m.group(1) + b" NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n")
                    await client_writer.drain()
                    continue
            up_writer.write(line)
            await up_writer.drain()
        up_writer.close()

    try:
        await asyncio.gather(upstream_to_client(), client_to_upstream())
    except (ConnectionError, OSError):
        pass
    finally:
        client_writer.close()
        up_writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
