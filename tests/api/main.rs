//! Black-box tests: a real app on a free port, real Redis, real SMTP.
mod api;
mod browser;
mod crash;
mod budget;
mod demo;
mod mail;
mod ops;
mod process;
mod refusals;
mod rerender;
mod secrets;
mod support;
