//! Black-box tests: a real app on a free port, real Redis, real SMTP.
