//! Black-box tests: a real app on a free port, real Redis, real SMTP.
mod api;
mod audit;
mod browser;
mod budget;
mod crash;
mod demo;
mod failover;
mod limits;
mod mail;
mod ops;
mod overrides;
mod process;
mod refusals;
mod rerender;
mod secrets;
mod stall;
mod support;
