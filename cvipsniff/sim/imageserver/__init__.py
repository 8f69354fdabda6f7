"""ImageServer reference peers: encoders, a recording server, a scripted client, scenarios.

Written from ``imageserver-protocol.txt`` alone and independently of
:mod:`dissectors.imageserver`, so the peers and the dissector cannot share a mistake.

Modules, bottom up:

* :mod:`.jpeg` – pure-Python baseline JPEG encoder (real pictures for bodies);
* :mod:`.genericbytedata` – the raw "generic byte data" video packet wrapper;
* :mod:`.encode` – every request and response as bytes;
* :mod:`.framing`, :mod:`.xmlread`, :mod:`.reader` – how the peers read each other;
* :mod:`.recording`, :mod:`.images`, :mod:`.server_logic` – the sans-I/O recording server;
* :mod:`.checks`, :mod:`.client_logic`, :mod:`.scripts` – the sans-I/O client and its scripts;
* :mod:`.server`, :mod:`.client`, :mod:`.cli` – the asyncio peers and their sub-commands;
* :mod:`.inprocess`, :mod:`.faults`, :mod:`.scenarios` – transcripts for the synthesizer.

Where the document is silent or ambiguous, the peers decide as follows:

1. Every message, requests included, ends with the double CR-LF. XML starts with
   ``<?xml version="1.0" encoding="UTF-8"?>`` (double quotes, as printed) and is indented
   as printed; the ``control`` script sends its requests on one line, as many clients do.
2. ``ImageResponse``: header lines end with CR-LF, an empty line, the body, the double
   CR-LF. Multipart: each part's bytes are followed by CR-LF before the next boundary line;
   ``--boundary--`` is followed by the double CR-LF; the outer block has no Content-length.
3. Privacy mask: ``grid;WxH;…`` has W cells per row and H rows. In the XML form each cell is
   two hex digits (the document's 8×8 example has 16-character rows). The mask is sent in
   the first ImageResponse only, and only to a client that said ``privacymask=yes``:
   grid form for ``privacymaskversion`` 0, base64 XML for 1.
4. Prev/Current/Next: at the first image Prev repeats Current, at the last Next does. Live
   frames: Prev is the previous frame, Next repeats Current (the future is unknown).
5. Multipart browse sends up to three consecutive images of one sequence; Current is the
   first part, Next the image after the last, and the pointer moves to the last part.
6. ``SequenceNumber``/``MotionLevel`` are "(if requested)" without saying how: a server
   setting turns them on.
7. ``compressionrate`` 1–100 maps to JPEG quality ``100 − rate`` (within 10..95); the
   special values 101–104 are not described, so they mean the default.
8. The PTZ command list is missing from the document: ``up``, ``down``, ``left``,
   ``right``, ``upleft``, ``upright``, ``downleft``, ``downright``, ``zoomin``, ``zoomout``,
   ``home``. Unknown commands, presets and outputs are answered anyway (the response has no
   status) and logged.
9. A ``live`` whose only option is ``<adaptivestreaming>`` updates the feed and gets no
   response; any other ``live`` (re)starts it. Live packages: at the start (items 1, 2, 3
   and 100=0), every second (1, 2, 3), and after ``stop`` (1=0, 100=1).
10. Malformed XML, unknown methods and requests before an accepted ``connect`` get no
    answer. ``goto`` without ``<time>`` answers from the current pointer.
11. ``connectparam`` must be ``id=…[&streamid=…]&connectiontoken=…`` in that order; the id
    must be the camera's and the token the configured one, else ``connected=no`` with an
    ``errorreason``. The "[camera info]" of the connect response is name, id, width, height.
"""
