"""Every example of the ImageServer document, verbatim, decoded to the expected structure.

The examples below are copied from ``shared/spec/imageserver-protocol.txt`` character for
character (its indentation uses non-breaking spaces, written ``\xa0`` here so they are
visible); :func:`test_examples_are_verbatim_and_complete` checks that against the document
when it is present. Most are syntax listings with placeholders (``[number]``, ``yes/no``)
and annotations (``(optional)``): decoded as they are, those are findings, and each
example's expected findings are listed. Concrete instances of the same layouts follow and
must decode without a single finding.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from pathlib import Path

import pytest

from dissectors.imageserver import dissect
from dissectors.imageserver import rules as R
from dissectors.imageserver.framer import ImageServerFramer

SPEC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "spec"

EXAMPLES: dict[str, str] = {
    "intro_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0\xa0<methodname>connect</methodname>\n"
        "</methodcall>"
    ),
    "intro_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0\xa0<methodname>connect</methodname>\n"
        "</methodresponse>"
    ),
    "connect_simple": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>1</requestid>\n"
        "\xa0 <methodname>connect</methodname>\n"
        "\xa0 <username>dummy</username>\n"
        "\xa0 <password>dummy</password>\n"
        "\xa0\xa0<cameraid>[guid]</cameraid>\n"
        "\xa0\xa0<connectparam>id=[guid]&amp;connectiontoken=[token]</connectparam>\n"
        "</methodcall>"
    ),
    "connect_simple_streamid": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>1</requestid>\n"
        "\xa0 <methodname>connect</methodname>\n"
        "\xa0 <username>dummy</username>\n"
        "\xa0 <password>dummy</password>\n"
        "\xa0\xa0<cameraid>[guid]</cameraid>\n"
        "\xa0\xa0<connectparam>id=[guid]&amp;streamid=[guid]&amp;connectiontoken=[token]</connectp"
        "aram>\n"
        "</methodcall>"
    ),
    "connect_full": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>connect</methodname>\n"
        "\xa0 <username>[text]</username>\n"
        "\xa0 <password>[text]</password>\n"
        "\xa0\xa0<cameraid>[guid or cameraname]</cameraid>\n"
        "\xa0\xa0<alwaysstdjpeg>yes/no</alwaysstdjpeg>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0(Recommended)\n"
        "\xa0\xa0<connectparam>[text]</connectparam>\n"
        "\xa0\xa0<clientcapabilities>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0(optional)\n"
        "\xa0\xa0\xa0 <privacymask>yes/no</privacymask>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0(optional)\n"
        "\xa0\xa0\xa0 <privacymaskversion>0/1</privacymaskversion>\xa0\xa0\xa0\xa0\xa0\xa0(optiona"
        "l, def=0)\n"
        "\xa0\xa0\xa0 <multipartdata>yes/no</multipartdata>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0(optional)\n"
        "\xa0\xa0\xa0 <datarestriction>yes/no</datarestriction>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0(optional)\n"
        "\xa0\xa0</clientcapabilities>\n"
        "\xa0\xa0<transcode> \xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0(optional)\n"
        "\xa0\xa0\xa0 <allframes>yes/no</allframes>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0(optional, def=no)\n"
        "\xa0\xa0\xa0 <width>[number]</width>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0(optional, def=unaltered)\n"
        "\xa0\xa0\xa0 <height>[number]</height>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0(optional, def=unaltered)\n"
        "\xa0\xa0\xa0 <keepaspectratio>yes/no</keepaspectratio>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0(optional, def=no)\n"
        "\xa0\xa0\xa0 <allowupsizing>yes/no</allowupsizing>\xa0\xa0\xa0 \xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0(optional, def=no)\n"
        "\xa0\xa0</transcode>\n"
        "\xa0\xa0<timerestriction>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0      \xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0(only one log and control cli"
        "ent behaviour – time forward only)\n"
        "\xa0\xa0\xa0\xa0<starttime>[milliseconds since epoc]</starttime>\n"
        "\xa0\xa0\xa0\xa0<endtime>[milliseconds since epoc]</endtime>\n"
        "\xa0\xa0</timerestriction>\n"
        "</methodcall>"
    ),
    "connect_response": (
        '<?xml  version="1.0" encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[actual]</requestid>\n"
        "\xa0 <methodname>connect</methodname>\n"
        "\xa0\xa0<connected>yes/no</connected>\n"
        "\xa0\xa0<errorreason>[text]</errorreason>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0(only if connected =  no)\n"
        "\xa0\xa0<alwaysstdjpeg>[actual]</alwaysstdjpeg>\n"
        "\xa0 <camera>\n"
        "\xa0\xa0\xa0 [camera info]\n"
        "\xa0 </camera>\n"
        "\xa0\xa0<clientcapabilities>\n"
        "\xa0\xa0\xa0  <privacymask>[actual]</privacymask>\n"
        "\xa0\xa0\xa0  <privacymaskversion>[actual]</privacymaskversion>\n"
        "\xa0\xa0\xa0  <multipartdata>[actual]</multipartdata>\n"
        "\xa0\xa0\xa0  <datarestriction>[actual]</datarestriction>\n"
        "\xa0\xa0</clientcapabilities>\n"
        "\xa0\xa0<servercapabilities>\n"
        "\xa0\xa0\xa0  <connectupdate>[actual]</connectupdate>\n"
        "\xa0\xa0\xa0  <adaptivestreamingversion>[version]</adaptivestreamingversion>\n"
        "\xa0\xa0</servercapabilities>\n"
        "\xa0\xa0<transcode>\n"
        "\xa0\xa0\xa0  <allframes>[actual]</allframes>\n"
        "\xa0\xa0\xa0  <width>[actual]</width>\n"
        "\xa0\xa0\xa0  <height>[actual]</height>\n"
        "\xa0\xa0\xa0 <keepaspectratio>[actual]</keepaspectratio>\n"
        "\xa0\xa0\xa0  <allowupsizing>[actual]</allowupsizing>\n"
        "\xa0\xa0</transcode>\n"
        "</methodresponse>"
    ),
    "connectupdate_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>connectupdate</methodname>\n"
        "\xa0\xa0<connectparam>[text]</connectparam>\n"
        "</methodcall>"
    ),
    "connectupdate_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>connectupdate</methodname>\n"
        "\xa0\xa0<connected>yes/no</connected>\n"
        "\xa0\xa0<errorreason>[text]</errorreason>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0(only if connected =  no)\n"
        "</methodresponse>"
    ),
    "goto_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>goto</methodname>\n"
        "\xa0 <time>[milliseconds  since UNIX epoch]</time>\n"
        "\xa0 <compressionrate>[number]</compressionrate> \xa0\xa0\xa0\xa0\xa0\xa0\xa0(optional)\n"
        "\xa0 <keyframesonly>yes/no</keyframesonly>\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0"
        "\xa0\xa0\xa0(optional)\n"
        "</methodcall>"
    ),
    "privacy_mask": (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<mask>\n"
        "\xa0\xa0<methods>\n"
        '\xa0\xa0\xa0\xa0<solid value="1" removable="false">\n'
        "\xa0\xa0\xa0\xa0\xa0\xa0<color>\n"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0<red>255</red>\n"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0<green>0</green>\n"
        "\xa0\xa0\xa0\xa0\xa0\xa0\xa0\xa0<blue>0</blue>\n"
        "\xa0\xa0\xa0\xa0\xa0\xa0</color>\n"
        "\xa0\xa0\xa0\xa0</solid>\n"
        "\xa0\xa0</methods>\n"
        '\xa0\xa0<grid size="8x8">\n'
        '\xa0\xa0\xa0\xa0<row index="1" values="0100000000000000" />\n'
        '\xa0\xa0\xa0\xa0<row index="3" values="0000000000010100" />\n'
        "\xa0\xa0</grid>\n"
        "</mask>"
    ),
    "next_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>next</methodname>\n"
        "\xa0 <time>[milliseconds  since UNIX epoch]</time>       (optional)\n"
        "\xa0 <compressionrate>[number]</compressionrate>         (optional)\n"
        "</methodcall>"
    ),
    "previous_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>previous</methodname>\n"
        "\xa0 <time>[milliseconds  since UNIX epoch]</time>       (optional)\n"
        "  <compressionrate>[number]</compressionrate>         (optional)\n"
        "</methodcall>"
    ),
    "nextsequence_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0\xa0<methodname>nextsequence</methodname>\n"
        "\xa0 <time>[milliseconds  since UNIX epoch]</time>       (optional)\n"
        "\xa0 <compressionrate>[number]</compressionrate>         (optional)\n"
        "</methodcall>"
    ),
    "previoussequence_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0\xa0<methodname>previoussequence</methodname>\n"
        "\xa0 <time>[milliseconds  since UNIX epoch]</time>       (optional)\n"
        "  <compressionrate>[number]</compressionrate>         (optional)\n"
        "</methodcall>"
    ),
    "begin_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>begin</methodname>\n"
        "  <compressionrate>[number]</compressionrate>         (optional)\n"
        "</methodcall>"
    ),
    "end_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>end</methodname>\n"
        "  <compressionrate>[number]</compressionrate>         (optional)\n"
        "</methodcall>"
    ),
    "alarms_range_request": (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>alarms</methodname>\n"
        "\xa0 <starttime>[milliseconds since UNIX epoch]</starttime>\n"
        "\xa0 <stoptime>[milliseconds since UNIX epoch]</stoptime>\n"
        "</methodcall>"
    ),
    "alarms_response": (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>alarms</methodname>\n"
        '\xa0 <dblimit startTime="[milliseconds since UNIX epoch]" endTime="[milliseconds since UN'
        'IX epoch]"/>\n'
        "\xa0 <alarms>\n"
        '\xa0\xa0\xa0 <alarm  startTime="ms" alarmTime="ms" endTime="ms" numImages="[number]"/>\n'
        '\xa0\xa0\xa0 <alarm  startTime="ms" alarmTime="ms" endTime="ms" numImages="[number]"/>\n'
        "\xa0\xa0\xa0 ...\n"
        "\xa0\xa0</alarms>\n"
        "</methodresponse>"
    ),
    "alarms_around_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>alarms</methodname>\n"
        "\xa0 <centertime>[milliseconds since UNIX epoch]</centertime>\n"
        "\xa0 <numalarms>[max number of alarms to return before and after center time]</numalarms>"
        "\n"
        "\xa0 <timespan>[max time before and after center to look for alarms]</timespan>\n"
        "</methodcall>"
    ),
    "live_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>live</methodname>\n"
        "\xa0\xa0<compressionrate>[number]</compressionrate>  (optional)\n"
        "\xa0 <sendinitialimage>yes/no</sendinitialimage>  (optional)\n"
        "\xa0 <attributes [text]/> (optional)\n"
        "\xa0 <adaptivestreaming>\xa0 (optional, if stated one option must be supplied)\n"
        "\xa0  \xa0<resolution>\xa0 \xa0 \xa0 \xa0(option #1)\n"
        "\xa0  \xa0  <widthhint>[number]<widthhint/> \xa0 (range 1 - Int32.Max)\n"
        "\xa0  \xa0  <heighthint>[number]<heighthint/> (range 1 - Int32.Max)\n"
        "\xa0   </resolution>\n"
        "\xa0  \xa0<maxresolution/> \xa0 (option #2)\n"
        "\xa0  \xa0<disabled/> \xa0  \xa0  \xa0(option #3)\n"
        "\xa0 </adaptivestreaming>\n"
        "</methodcall>"
    ),
    "livepackage": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<livepackage>\n"
        "\xa0\xa0<status>\n"
        "\xa0\xa0\xa0 <statustime>[milliseconds since UNIX  epoch]</statustime>\n"
        '\xa0\xa0\xa0 <statusitem id="[Number]" value="[Text]" description="[Text]"/>\n'
        "\xa0\xa0\xa0 ...\n"
        "\xa0 </status>\n"
        "</livepackage>"
    ),
    "live_change_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>live</methodname>\n"
        "\xa0 <adaptivestreaming>\xa0 (optional, if stated one option must be supplied)\n"
        "\xa0   <resolution>\xa0 \xa0 \xa0 \xa0(option #1)\n"
        "\xa0  \xa0  <widthhint>[number]<widthhint/> \xa0 (range 1 - Int32.Max)\n"
        "\xa0  \xa0  <heighthint>[number]<heighthint/> (range 1 - Int32.Max)\n"
        "\xa0  \xa0</resolution>\n"
        "\xa0  \xa0<maxresolution/> \xa0 (option #2)\n"
        "\xa0  \xa0<disabled/> \xa0  \xa0  \xa0(option #3)\n"
        "\xa0 </adaptivestreaming>\n"
        "</methodcall>"
    ),
    "changelivecompressionrate_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>changelivecompressionrate</methodname>\n"
        "\xa0 <compressionrate>[number]</compressionrate>\n"
        "</methodcall>"
    ),
    "changelivecompressionrate_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>changelivecompressionrate</methodname>\n"
        "</methodresponse>"
    ),
    "stop_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>stop</methodname>\n"
        "</methodcall>"
    ),
    "stop_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0\xa0<requestid>[number]</requestid>\n"
        "\xa0\xa0<methodname>stop</methodname>\n"
        "</methodresponse>"
    ),
    "ptz_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>ptz</methodname>\n"
        "\xa0 <ptzcommand>[ptzcommand]</ptzcommand>\n"
        "</methodcall>"
    ),
    "ptz_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>ptz</methodname>\n"
        "</methodresponse>"
    ),
    "ptzcenter_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>ptzcenter</methodname>\n"
        "\xa0 <refwidth>[number]</refwidth>\n"
        "\xa0 <refheight>[number]</refheight>\n"
        "\xa0 <centerx>[number]</centerx>\n"
        "\xa0 <centery>[number]</centery>\n"
        "\xa0 <zoom>[number]</zoom>\n"
        "</methodcall>"
    ),
    "ptzcenter_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>ptzcenter</methodname>\n"
        "</methodresponse>"
    ),
    "ptzrectangle_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>ptzrectangle</methodname>\n"
        "\xa0 <refwidth>[number]</refwidth>\n"
        "\xa0 <refheight>[number]</refheight>\n"
        "\xa0 <left>[number]</left>\n"
        "\xa0 <top>[number]</top>\n"
        "\xa0 <right>[number]</right>\n"
        "\xa0 <bottom>[number]</bottom>\n"
        "</methodcall>"
    ),
    "ptzrectangle_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>ptzrectangle</methodname>\n"
        "</methodresponse>"
    ),
    "preset_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>preset</methodname>\n"
        "\xa0 <presetname>[presetid]</presetname>\n"
        "</methodcall>"
    ),
    "preset_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>preset</methodname>\n"
        "</methodresponse>"
    ),
    "output_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>output</methodname>\n"
        "\xa0 <outputname>[outputid]</outputname>\n"
        "</methodcall>"
    ),
    "output_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>output</methodname>\n"
        "</methodresponse>"
    ),
    "aviinformation_request": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodcall>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>aviinformation</methodname>\n"
        "\xa0 <start>[milliseconds  since UNIX epoch]</start>\n"
        "\xa0 <stop>[milliseconds  since UNIX epoch]</stop>\n"
        "</methodcall>"
    ),
    "aviinformation_response": (
        '<?xml version="1.0"  encoding="UTF-8"?>\n'
        "<methodresponse>\n"
        "\xa0 <requestid>[number]</requestid>\n"
        "\xa0 <methodname>aviinformation</methodname>\n"
        "\xa0 <width>[number]</width>\n"
        "\xa0 <height>[number]</height>\n"
        "\xa0 <depth>[number]</depth>\n"
        "\xa0 <fps>[float]</fps>\n"
        "</methodresponse>"
    ),
}
IMAGE_SINGLE_LAYOUT = (
    "ImageResponse\n"
    "RequestId: [number]\n"
    "PrivacyMask: none/grid;3x3;110;110;000/[base64 encoded xml]\xa0 (first time and when mask cha"
    "nges)\n"
    "Restriction: none/time\n"
    "Prev: [milliseconds since UNIX epoch]\n"
    "Current: [milliseconds since UNIX epoch]\n"
    "Next: [milliseconds since UNIX epoch]\n"
    "SequenceNumber: [number] (if requested)\n"
    "MotionLevel: [number] (if requested)\n"
    "Content-length: [number]\n"
    "Content-type: image/jpeg\n"
    "\xa0\n"
    "[binary data]\n"
)
IMAGE_MULTIPART_LAYOUT = (
    "ImageResponse\n"
    "RequestId: [number]\n"
    "PrivacyMask: none/grid;3x3;110;110;000/[base64 encoded xml]\xa0 (first time and when mask cha"
    "nges)\n"
    "Restriction: none/time\n"
    "Prev: [milliseconds since UNIX epoch]\n"
    "Current: [milliseconds since UNIX epoch]\n"
    "Next: [milliseconds since UNIX epoch]\n"
    "SequenceNumber: [number] (if requested)\n"
    "MotionLevel: [number] (if requested)\n"
    "Content-type: multipart/related; boundary=frontier\n"
    "\xa0\n"
    "--frontier\n"
    "Content-length: [number]\n"
    "Content-type: application/x-genericbytedata-octet-stream\n"
    "\xa0\n"
    "[binary data]\n"
    "--frontier\n"
    "Content-length: [number]\n"
    "Content-type: application/x-genericbytedata-octet-stream\n"
    "\xa0\n"
    "[binary data]\n"
    ".\n"
    ".\n"
    ".\n"
    "--frontier\n"
    "Content-length: [number]\n"
    "Content-type: application/x-genericbytedata-octet-stream\n"
    "\xa0\n"
    "[binary data]\n"
    "--frontier--\n"
    "\xa0\n"
)

MISSING, NUMBER, TIME, YESNO = R.FIELD_MISSING, R.FIELD_NUMBER, R.FIELD_TIME, R.FIELD_YESNO
STRUCTURE, MALFORMED, ENUM, DUP = R.XML_STRUCTURE, R.XML_MALFORMED, R.FIELD_ENUM, R.FIELD_DUPLICATE
PARAM = R.CONNECT_CONNECTPARAM
GUID = R.CONNECT_GUID  # the examples' "id=[guid]" placeholder is not a GUID
BROWSE = ["requestid", "methodname", "time", "compressionrate"]

# name: (kind, method, requestid as sent, top-level elements, findings as {rule: count})
EXPECTED: dict[str, tuple[str, str | None, object, list[str], dict[str, int]]] = {
    # requestid, username, password, and one for naming no camera (no cameraid, no
    # connectparam)
    "intro_request": ("request", "connect", None, ["methodname"], {MISSING: 4}),
    "intro_response": ("response", "connect", None, ["methodname"],
                       {MISSING: 1, R.RESPONSE_REQUESTID: 1}),
    "connect_simple": ("request", "connect", 1,
                       ["requestid", "methodname", "username", "password", "cameraid",
                        "connectparam"], {GUID: 1}),
    "connect_simple_streamid": ("request", "connect", 1,
                                ["requestid", "methodname", "username", "password",
                                 "cameraid", "connectparam"], {GUID: 2}),
    "connect_full": ("request", "connect", "[number]",
                     ["requestid", "methodname", "username", "password", "cameraid",
                      "alwaysstdjpeg", "connectparam", "clientcapabilities", "transcode",
                      "timerestriction"],
                     {STRUCTURE: 4, NUMBER: 3, YESNO: 7, ENUM: 1, TIME: 2, PARAM: 3}),
    "connect_response": ("response", "connect", "[actual]",
                         ["requestid", "methodname", "connected", "errorreason",
                          "alwaysstdjpeg", "camera", "clientcapabilities",
                          "servercapabilities", "transcode"],
                         {STRUCTURE: 1, NUMBER: 3, YESNO: 9, ENUM: 1}),
    "connectupdate_request": ("request", "connectupdate", "[number]",
                              ["requestid", "methodname", "connectparam"],
                              {NUMBER: 1, PARAM: 3}),
    "connectupdate_response": ("response", "connectupdate", "[number]",
                               ["requestid", "methodname", "connected", "errorreason"],
                               {STRUCTURE: 1, NUMBER: 1, YESNO: 1}),
    "goto_request": ("request", "goto", "[number]", [*BROWSE, "keyframesonly"],
                     {STRUCTURE: 1, NUMBER: 2, TIME: 1, YESNO: 1}),
    "privacy_mask": ("unknown", None, None, ["methods", "grid"], {STRUCTURE: 1}),
    **{
        f"{m}_request": ("request", m, "[number]", BROWSE, {STRUCTURE: 1, NUMBER: 2, TIME: 1})
        for m in ("next", "previous", "nextsequence", "previoussequence")
    },
    **{
        f"{m}_request": ("request", m, "[number]", ["requestid", "methodname",
                                                    "compressionrate"],
                         {STRUCTURE: 1, NUMBER: 2})
        for m in ("begin", "end")
    },
    "alarms_range_request": ("request", "alarms", "[number]",
                             ["requestid", "methodname", "starttime", "stoptime"],
                             {NUMBER: 1, TIME: 2}),
    "alarms_response": ("response", "alarms", "[number]",
                        ["requestid", "methodname", "dblimit", "alarms"],
                        {NUMBER: 3, TIME: 8, STRUCTURE: 1}),
    "alarms_around_request": ("request", "alarms", "[number]",
                              ["requestid", "methodname", "centertime", "numalarms",
                               "timespan"], {NUMBER: 3, TIME: 1}),
    "live_request": ("request", "live", "[number]",
                     ["requestid", "methodname", "compressionrate", "sendinitialimage",
                      "attributes", "adaptivestreaming"],
                     {MALFORMED: 4, STRUCTURE: 3, NUMBER: 4, YESNO: 1, DUP: 1}),
    "livepackage": ("livepackage", None, None, ["status"],
                    {STRUCTURE: 1, R.LIVE_STATUSTIME: 1, R.LIVE_STATUS_ITEM: 2}),
    "live_change_request": ("request", "live", "[number]",
                            ["requestid", "methodname", "adaptivestreaming"],
                            {MALFORMED: 3, STRUCTURE: 2, NUMBER: 3, DUP: 1}),
    "changelivecompressionrate_request": ("request", "changelivecompressionrate", "[number]",
                                          ["requestid", "methodname", "compressionrate"],
                                          {NUMBER: 2}),
    "ptz_request": ("request", "ptz", "[number]", ["requestid", "methodname", "ptzcommand"],
                    {NUMBER: 1}),
    "ptzcenter_request": ("request", "ptzcenter", "[number]",
                          ["requestid", "methodname", "refwidth", "refheight", "centerx",
                           "centery", "zoom"], {NUMBER: 6}),
    "ptzrectangle_request": ("request", "ptzrectangle", "[number]",
                             ["requestid", "methodname", "refwidth", "refheight", "left",
                              "top", "right", "bottom"], {NUMBER: 7}),
    "preset_request": ("request", "preset", "[number]",
                       ["requestid", "methodname", "presetname"], {NUMBER: 1}),
    "output_request": ("request", "output", "[number]",
                       ["requestid", "methodname", "outputname"], {NUMBER: 1}),
    "stop_request": ("request", "stop", "[number]", ["requestid", "methodname"], {NUMBER: 1}),
    "aviinformation_request": ("request", "aviinformation", "[number]",
                               ["requestid", "methodname", "start", "stop"],
                               {NUMBER: 1, TIME: 2}),
    "aviinformation_response": ("response", "aviinformation", "[number]",
                                ["requestid", "methodname", "width", "height", "depth", "fps"],
                                {NUMBER: 5}),
    **{
        f"{m}_response": ("response", m, "[number]", ["requestid", "methodname"], {NUMBER: 1})
        for m in ("changelivecompressionrate", "stop", "ptz", "ptzcenter", "ptzrectangle",
                  "preset", "output")
    },
}


def _top_level(record) -> list[str]:
    return [f.label for f in record.fields[1].children]


def test_every_example_has_an_expectation() -> None:
    assert set(EXPECTED) == set(EXAMPLES)


def test_examples_are_verbatim_and_complete() -> None:
    spec = SPEC_DIR / "imageserver-protocol.txt"
    if not spec.exists():
        pytest.skip("the shared spec document is not next to the repository")
    text = spec.read_text(encoding="utf-8")
    for name, example in EXAMPLES.items():
        assert example in text, name
    assert text.count("<?xml") == len(EXAMPLES)
    assert IMAGE_SINGLE_LAYOUT in text
    assert IMAGE_MULTIPART_LAYOUT in text


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_decodes_to_expected_structure(name: str) -> None:
    kind, method, txn, elements, findings = EXPECTED[name]
    record = dissect(EXAMPLES[name].encode("utf-8"), "tcp")
    assert record.protocol == "imageserver"
    assert record.kind == kind
    assert record.method == method
    assert record.txn == txn
    assert record.is_response == (kind in ("response", "livepackage"))
    assert _top_level(record) == elements
    assert Counter(p.rule for p in record.problems) == Counter(findings)
    assert record.find("imageserver.kind").value == kind


def test_example_fields_point_at_their_bytes() -> None:
    """Every field with an offset covers exactly the bytes it was read from."""
    for name, example in EXAMPLES.items():
        data = example.encode("utf-8")
        record = dissect(data)
        for field in record.walk():
            if field.offset < 0:
                continue
            assert 0 <= field.offset <= field.offset + field.length <= len(data), name
            chunk = data[field.offset: field.offset + field.length]
            if field.key == "imageserver.requestid" and isinstance(field.value, int):
                assert chunk == f"<requestid>{field.value}</requestid>".encode()


def test_simple_connect_example_fields() -> None:
    record = dissect(EXAMPLES["connect_simple_streamid"].encode())
    assert record.info == "connect request id=1"
    assert record.attrs["answered_by"] == "xml"
    assert record.find("imageserver.username").value == "dummy"
    password = record.find("imageserver.password")
    assert "dummy" not in f"{password.value}{password.display}"
    assert record.find("imageserver.connectparam.id").value == "[guid]"
    assert record.find("imageserver.connectparam.streamid").value == "[guid]"
    token = record.find("imageserver.connectparam.connectiontoken")
    assert "[token]" not in f"{token.value}{token.display}"
    assert "[token]" not in record.find("imageserver.connectparam").value
    revealed = dissect(EXAMPLES["connect_simple_streamid"].encode(),
                       options={"reveal_secrets": True})
    assert revealed.find("imageserver.connectparam.connectiontoken").value == "[token]"
    assert revealed.find("imageserver.password").value == "dummy"


def test_live_examples_answers() -> None:
    full = dissect(EXAMPLES["live_request"].encode())
    change = dissect(EXAMPLES["live_change_request"].encode())
    assert full.attrs["answered_by"] == "stream" and full.attrs["adaptive_only"] is False
    assert change.attrs["answered_by"] == "none" and change.attrs["adaptive_only"] is True


def test_malformed_live_example_is_recovered() -> None:
    """``<widthhint>[number]<widthhint/>``: the self-closing tag read as the end tag, so
    both hints land inside <resolution>, and ``<attributes [text]/>`` is kept."""
    record = dissect(EXAMPLES["live_request"].encode())
    resolution = record.find("imageserver.adaptivestreaming.resolution")
    assert [c.label for c in resolution.children] == ["widthhint", "heighthint"]
    assert record.find("imageserver.adaptivestreaming.resolution.widthhint").value == "[number]"
    attributes = record.find("imageserver.attributes")
    assert [c.value for c in attributes.children] == ["[text]"]
    assert record.info.endswith("[malformed]")
    messages = " ".join(p.message for p in record.problems if p.rule == MALFORMED)
    assert "<widthhint/> used as the end tag" in messages


def test_privacy_mask_example_in_a_header() -> None:
    """The document's mask XML, base64 encoded into a PrivacyMask header."""
    encoded = base64.b64encode(EXAMPLES["privacy_mask"].encode()).decode()
    record = dissect(_image(f"PrivacyMask: {encoded}\r\n", body=b""))
    mask = record.find("imageserver.header.privacymask")
    assert mask.display == "xml 8x8, 3 masked cells"
    assert record.find("imageserver.privacymask.kind").value == "xml"
    assert record.find("imageserver.privacymask.width").value == 8
    assert record.find("imageserver.privacymask.height").value == 8
    assert record.find("imageserver.privacymask.method").display == \
        "solid value=1 removable=false"
    assert [f.value for f in record.walk() if f.key == "imageserver.privacymask.row"] == [
        "0100000000000000", "0000000000010100"]
    assert not [p for p in record.problems if p.rule == R.PRIVACYMASK_SYNTAX]
    assert record.attrs["privacymask"] == "xml"


# ---- the two ImageResponse layouts -----------------------------------------------------------


def _wire(layout: str) -> bytes:
    """The layout as it travels: CR-LF line ends, and the lines the document renders as a
    lone non-breaking space are the blank lines of the format."""
    lines = ["" if line == "\xa0" else line for line in layout.split("\n")]
    return "\r\n".join(lines).encode("utf-8")


def _image(extra_headers: str, body: bytes, request_id: int = 7) -> bytes:
    head = (f"ImageResponse\r\nRequestId: {request_id}\r\n{extra_headers}"
            "Restriction: none\r\nPrev: 1700000000000\r\nCurrent: 1700000000040\r\n"
            f"Next: 1700000000080\r\nContent-length: {len(body)}\r\n"
            "Content-type: image/jpeg\r\n\r\n")
    return head.encode() + body + b"\r\n\r\n"


HEADER_NAMES = ["RequestId", "PrivacyMask", "Restriction", "Prev", "Current", "Next",
                "SequenceNumber", "MotionLevel"]


def test_single_layout_template() -> None:
    # The layout ends with its binary data; the blank line after it in the document is the
    # message's double CR-LF.
    data = _wire(IMAGE_SINGLE_LAYOUT) + b"\r\n"
    assert data.endswith(b"[binary data]\r\n\r\n")
    record = dissect(data)
    assert record.kind == "imageresponse" and record.is_response
    header = record.find("imageserver.imageresponse")
    assert [f.label for f in header.children] == [*HEADER_NAMES, "Content-length",
                                                  "Content-type"]
    assert Counter(p.rule for p in record.problems) == Counter({
        NUMBER: 4, R.PRIVACYMASK_SYNTAX: 1, ENUM: 1, TIME: 3, R.IMAGE_BODY: 1})
    assert record.find("imageserver.body.kind").value == "bytes"
    assert record.find("imageserver.body.size").value == len(b"[binary data]")
    assert record.txn == "[number]"
    # Without a usable Content-length the end is known only when the stream ends.
    framer = ImageServerFramer()
    assert framer.feed(data) == []
    framed = framer.close()
    assert [(f.data, f.problems) for f in framed] == [(data, [])]


def test_multipart_layout_template() -> None:
    data = _wire(IMAGE_MULTIPART_LAYOUT)
    assert data.endswith(b"--frontier--\r\n\r\n")
    record = dissect(data)
    header = record.find("imageserver.imageresponse")
    assert [f.label for f in header.children] == [*HEADER_NAMES, "Content-type"]
    parts = [f for f in record.walk() if f.key == "imageserver.part"]
    assert len(parts) == 3 and record.attrs["parts"] == 3
    assert record.find("imageserver.multipart").display == "3 parts"
    sizes = [c.value for p in parts for c in p.children if c.key == "imageserver.part.size"]
    assert sizes == [13, len(b"[binary data]\r\n.\r\n.\r\n."), 13]
    # Findings: the placeholders only; the multipart structure itself is sound.
    assert Counter(p.rule for p in record.problems) == Counter({
        NUMBER: 3 + 3, R.PRIVACYMASK_SYNTAX: 1, ENUM: 1, TIME: 3})
    framed = ImageServerFramer().feed(data)
    assert [f.data for f in framed] == [data]


# ---- concrete instances: no findings ---------------------------------------------------------

CONCRETE: dict[str, str] = {
    "connect_full": """<?xml version="1.0" encoding="UTF-8"?>
<methodcall>
  <requestid>1</requestid>
  <methodname>connect</methodname>
  <username>operator</username>
  <password>s3cret</password>
  <cameraid>0d2e3f1c-8c3a-4b1e-9a55-1f3e5d7c9b20</cameraid>
  <alwaysstdjpeg>no</alwaysstdjpeg>
  <connectparam>id=0d2e3f1c-8c3a-4b1e-9a55-1f3e5d7c9b20&amp;streamid=28dc44c3-079e-4c94-\
8ec9-60363451eb40&amp;connectiontoken=TOKEN-abc123</connectparam>
  <clientcapabilities>
    <privacymask>yes</privacymask>
    <privacymaskversion>1</privacymaskversion>
    <multipartdata>yes</multipartdata>
    <datarestriction>no</datarestriction>
  </clientcapabilities>
  <transcode>
    <allframes>no</allframes>
    <width>640</width>
    <height>480</height>
    <keepaspectratio>yes</keepaspectratio>
    <allowupsizing>no</allowupsizing>
  </transcode>
  <timerestriction>
    <starttime>1700000000000</starttime>
    <endtime>1700003600000</endtime>
  </timerestriction>
</methodcall>
""",
    "connect_response": """<?xml version="1.0" encoding="UTF-8"?>
<methodresponse>
  <requestid>1</requestid>
  <methodname>connect</methodname>
  <connected>yes</connected>
  <alwaysstdjpeg>no</alwaysstdjpeg>
  <camera><name>Entrance</name></camera>
  <clientcapabilities>
    <privacymask>yes</privacymask>
    <privacymaskversion>1</privacymaskversion>
    <multipartdata>yes</multipartdata>
    <datarestriction>no</datarestriction>
  </clientcapabilities>
  <servercapabilities>
    <connectupdate>yes</connectupdate>
    <adaptivestreamingversion>2</adaptivestreamingversion>
  </servercapabilities>
  <transcode>
    <allframes>no</allframes>
    <width>640</width>
    <height>480</height>
    <keepaspectratio>yes</keepaspectratio>
    <allowupsizing>no</allowupsizing>
  </transcode>
</methodresponse>
""",
    "connect_refused": """<?xml version="1.0" encoding="UTF-8"?>
<methodresponse><requestid>2</requestid><methodname>connect</methodname>
<connected>no</connected><errorreason>Token expired</errorreason></methodresponse>
""",
    "goto_request": """<?xml version="1.0" encoding="UTF-8"?>
<methodcall><requestid>7</requestid><methodname>goto</methodname><time>1700000000000</time>
<compressionrate>90</compressionrate><keyframesonly>no</keyframesonly></methodcall>
""",
    "alarms_around_request": """<methodcall><requestid>8</requestid><methodname>alarms</methodname>
<centertime>1700000000000</centertime><numalarms>10</numalarms><timespan>3600000</timespan>
</methodcall>
""",
    "alarms_response": """<?xml version="1.0" encoding="UTF-8"?>
<methodresponse>
  <requestid>8</requestid>
  <methodname>alarms</methodname>
  <dblimit startTime="1690000000000" endTime="1700009999999"/>
  <alarms>
    <alarm startTime="1700000000000" alarmTime="1700000001000" endTime="1700000009000"
           numImages="120"/>
    <alarm startTime="1700000100000" alarmTime="1700000101000" endTime="1700000109000"
           numImages="80"/>
  </alarms>
</methodresponse>
""",
    "live_request": """<?xml version="1.0" encoding="UTF-8"?>
<methodcall>
  <requestid>9</requestid>
  <methodname>live</methodname>
  <compressionrate>90</compressionrate>
  <sendinitialimage>yes</sendinitialimage>
  <attributes framerate="medium" motiononly="true" />
  <adaptivestreaming>
    <resolution><widthhint>640</widthhint><heighthint>480</heighthint></resolution>
  </adaptivestreaming>
</methodcall>
""",
    "live_change_request": """<methodcall><requestid>10</requestid><methodname>live</methodname>
<adaptivestreaming><maxresolution/></adaptivestreaming></methodcall>
""",
    "livepackage": """<?xml version="1.0" encoding="UTF-8"?>
<livepackage>
  <status>
    <statustime>1700000000123</statustime>
    <statusitem id="1" value="1" description="Camera live feed started"/>
    <statusitem id="3" value="0"/>
    <statusitem id="100" value="0"/>
  </status>
</livepackage>
""",
    "aviinformation_response": """<methodresponse><requestid>11</requestid>
<methodname>aviinformation</methodname><width>1920</width><height>1080</height>
<depth>24</depth><fps>12.5</fps></methodresponse>
""",
}


@pytest.mark.parametrize("name", sorted(CONCRETE))
def test_concrete_instance_has_no_findings(name: str) -> None:
    data = CONCRETE[name].replace("\n", "\r\n").encode()
    record = dissect(data)
    assert record.problems == []
    assert "malformed" not in record.info


def test_concrete_values_are_decoded() -> None:
    connect = dissect(CONCRETE["connect_full"].encode())
    assert connect.find("imageserver.transcode.width").value == 640
    assert connect.find("imageserver.alwaysstdjpeg").value is False
    assert connect.find("imageserver.clientcapabilities.privacymaskversion").value == "1"
    start = connect.find("imageserver.timerestriction.starttime")
    assert start.value == 1700000000000
    assert start.display == "1700000000000 (2023-11-14T22:13:20.000Z)"
    assert "TOKEN-abc123" not in repr(connect)
    assert "s3cret" not in repr(connect)

    response = dissect(CONCRETE["connect_response"].encode())
    assert response.info == "connect response id=1 connected=yes"
    assert response.attrs["connected"] is True
    refused = dissect(CONCRETE["connect_refused"].encode())
    assert refused.info == "connect response id=2 connected=no"
    assert refused.find("imageserver.errorreason").value == "Token expired"

    alarms = dissect(CONCRETE["alarms_response"].encode())
    assert alarms.info == "alarms response id=8 2 alarms"
    first = next(f for f in alarms.walk() if f.key == "imageserver.alarms.alarm")
    assert {c.label: c.value for c in first.children} == {
        "startTime": 1700000000000, "alarmTime": 1700000001000, "endTime": 1700000009000,
        "numImages": 120}
    assert alarms.find("imageserver.dblimit.endtime").value == 1700009999999

    around = dissect(CONCRETE["alarms_around_request"].encode())
    assert around.attrs["variant"] == "around a point in time"

    live = dissect(CONCRETE["live_request"].encode())
    assert live.find("imageserver.attributes.framerate").value == "medium"
    assert live.find("imageserver.attributes.motiononly").value is True
    assert live.find("imageserver.adaptivestreaming.resolution.heighthint").value == 480

    package = dissect(CONCRETE["livepackage"].encode())
    assert package.kind == "livepackage" and package.is_response and package.txn is None
    assert package.info == "livepackage statustime=2023-11-14T22:13:20.123Z 3 items"
    items = [f.display for f in package.walk() if f.key == "imageserver.status.statusitem"]
    assert items == ["1 Camera live feed started = 1", "3 Live feed recording = 0",
                     "100 Client Live feed stopped = 0"]
    assert package.attrs["status_items"] == [
        {"id": "1", "value": "1"}, {"id": "3", "value": "0"}, {"id": "100", "value": "0"}]

    avi = dissect(CONCRETE["aviinformation_response"].encode())
    assert avi.find("imageserver.fps").value == 12.5


def test_concrete_stream_frames_message_by_message() -> None:
    stream = b"".join(CONCRETE[n].replace("\n", "\r\n").encode().rstrip(b"\r\n") + b"\r\n\r\n"
                      for n in sorted(CONCRETE))
    framed = ImageServerFramer().feed(stream)
    assert len(framed) == len(CONCRETE)
    assert all(not f.problems for f in framed)
    assert [dissect(f.data).problems for f in framed] == [[]] * len(CONCRETE)


def test_examples_never_contain_unknown_keys() -> None:
    from dissectors.imageserver.fields import FIELD_KEYS

    for source in (*EXAMPLES.values(), *CONCRETE.values()):
        for field in dissect(source.encode()).walk():
            assert field.key in FIELD_KEYS, field.key
    assert re.fullmatch(r"imageserver\.[a-z0-9_.]+", "imageserver.header.content_length")
