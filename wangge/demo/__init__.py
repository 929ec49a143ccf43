"""The demo district: Lishan (立山区) with its real streets and communities and invented
geometry, buildings, households and residents. ``wangge demo`` calls ``build.build``.

``divisions``, ``geometry`` and ``people`` need no database; ``build`` and ``accounts`` write it.
``people`` draws names from Faker's lists, installed with the ``demo`` extra (``make demo``).
"""

DEFAULT_RESIDENTS = 12_000
