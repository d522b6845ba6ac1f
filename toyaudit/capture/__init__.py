"""Live capture: record a toy's packets, HTTPS and Bluetooth LE into a session folder.

A capture is evidence, analysed later and offline: nothing here classifies.
Each source of evidence is a :class:`~toyaudit.capture.recorder.Recorder`
(the packet sniffer, the mitmdump proxy, the Bluetooth LE scanner); the
capture run (:mod:`toyaudit.capture.run`) starts them together, watches them,
stops them on Ctrl-C, a deadline or a failure, and seals the session folder.
"""
