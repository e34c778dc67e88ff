"""Date formats for the admin (FORMAT_MODULE_PATH): every time with its seconds and its timezone,
in each language, so staff can line a time up with a partner's log."""
