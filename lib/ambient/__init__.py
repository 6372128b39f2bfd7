"""Ambient (ambidata.io): records sent to a channel, with store-and-forward.

ambient.record     make_record (d1..d7, created), url, body, array_head
ambient.limiter    Limiter: one request per 5 s, 3000 records a day (UTC and JST days)
ambient.backlog    Backlog: records waiting in a flash file (JSON lines, "-N" drop markers)
ambient.forwarder  Forwarder: the app loop's task (one record per interval, flushes, backoff)
ambient.repair     loading, repair and compaction of the backlog file; loaded for the call only
"""
