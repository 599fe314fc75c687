"""``X-Robots-Tag``: whether an image's host asks that it not be kept.

As img2dataset does: ``noai``, ``noimageai``, ``noindex`` or ``noimageindex`` refuse the
image, for every agent or, in the ``agent: directive`` form, for ours, whose token is the
product of our User-Agent (``imagenet-cli``); directives for other agents
(``googlebot: noindex``) are not ours to heed. Names are read in any case; a header may
list several directives, comma-separated, and come several times.
"""

from __future__ import annotations

AGENT = "imagenet-cli"
REFUSING = frozenset({"noai", "noimageai", "noindex", "noimageindex"})
# Directives that take a value after a colon: never an agent's name.
VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})


def refusal(value: str, agent: str = AGENT) -> str:
    """The first directive in ``value`` that refuses the image to ``agent``, else "".

    ``value`` holds one header's value per line (as the transport joins repeated
    headers). Within a header, ``name: directive`` sets the agent the directives after
    it apply to, until the next such name; a header begins with them applying to all.
    """
    agent = agent.lower()
    for header in value.splitlines():
        applies = True
        for item in header.split(","):
            name, colon, rest = item.partition(":")
            name = name.strip().lower()
            if colon and name not in VALUED:
                applies, item = name == agent, rest
            directive = item.strip().lower()
            if applies and directive in REFUSING:
                return directive
    return ""
