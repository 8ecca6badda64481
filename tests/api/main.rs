//! Black-box tests: a real app on a free port, real Redis, real SMTP.
mod api;
mod browser;
mod budget;
mod crash;
mod demo;
mod look;
mod mail;
mod ops;
mod overrides;
mod process;
mod refusals;
mod rerender;
mod secrets;
mod support;
