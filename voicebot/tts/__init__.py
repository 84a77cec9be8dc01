"""Speech synthesis: engines behind the small ``TtsEngine`` protocol, a factory, a prompt cache.

Modules:
    base            ``Rendered`` audio, the ``TtsEngine`` protocol, click-free ``join``
    pyttsx3_engine  espeak-ng through pyttsx3, rendered in a long-lived worker process
    pyttsx3_worker  the body of that worker process
    piper_engine    Piper neural voices (English) loaded in-process
    factory         ``make_engine(lang, engine, voice, rate_wpm)``
    cache           ``PromptCache``: static prompts rendered once, kept on disk and in memory

Engines block; the session calls ``render`` through an executor.
"""
