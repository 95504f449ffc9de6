"""Mail transport: SMTP out (aiosmtplib) and, later, LMTP in (aiosmtpd).

This package moves bytes to and from mail systems; it knows nothing of
calendars, the database or HTTP.
"""
