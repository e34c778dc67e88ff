# 2026-12-01 21:30:15 UTC: sortable, with seconds and the zone (the TIME_ZONE the admin shows).
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
TIME_FORMAT = "H:i:s"
