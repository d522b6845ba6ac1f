"""The labelled accuracy corpus: fictional toys whose every planted value is known.

``python -m benchmarks.corpus --out DIR --seed N`` writes one sealed session
per toy and ``labels.json`` beside them (:mod:`.build`); ``python -m
benchmarks.accuracy`` generates it and measures the classifier against it.
Six toys, one API style each: REST JSON (:mod:`.toy_pebble`), form posts and
query strings (:mod:`.toy_pip`), MQTT JSON (:mod:`.toy_luma`), protobuf and
base64 envelopes (:mod:`.toy_rover`), a WebSocket chat
(:mod:`.toy_chatterbox`) and Bluetooth LE only (:mod:`.toy_hopscotch`).
benchmarks/README.md says what the corpus holds and how matches are scored.
"""
