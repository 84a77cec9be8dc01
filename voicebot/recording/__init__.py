"""Call recording, the call store, crash recovery, QA scoring and reports.

``format`` defines the on-disk session format (versioned), ``recorder`` writes it from a
dedicated thread, ``store`` indexes finished sessions (SQLite or PostgreSQL), ``recover``
repairs sessions cut off by a crash, ``qa``/``report`` score sessions and render HTML,
``purge`` applies retention, ``cli`` holds the ``voicebot qa|recover|purge`` commands.
"""
