//! Rules for how the `otp-sidecar` authenticator is wired into the realm's flows.
//!
//! The walk follows Keycloak 26's `DefaultAuthenticationFlow`: executions run
//! in priority order; in a flow with any REQUIRED or CONDITIONAL execution the
//! ALTERNATIVE ones are ignored; a CONDITIONAL sub-flow with no enabled
//! condition step is skipped on every login; CONDITIONAL on a plain step is not
//! a condition at all (it runs as REQUIRED).

use std::collections::HashSet;

use super::doc::{bool_of, int_of, scalar_text, BoolVal, IntVal, Node, Pointer, Pos};
use super::otp_policy::closest;
use super::rules;
use super::Sink;
use crate::config::OTP_LIMITS;

pub const AUTHENTICATOR_ID: &str = "otp-sidecar";

/// Steps after which the user is known. `idp-*` covers the first-broker-login
/// and post-broker-login steps, where the brokered user is already set.
pub const IDENTIFYING: [&str; 7] = [
    "auth-username-password-form",
    "auth-username-form",
    "auth-cookie",
    "identity-provider-redirector",
    "auth-spnego",
    "auth-x509-client-username-form",
    "webauthn-authenticator-passwordless",
];

/// Alternatives that may sit next to the branch holding our step: the SSO
/// cookie (the user passed the step when the session began) and IdP redirects.
pub const ACCEPTED_ALTERNATIVES: [&str; 2] = ["auth-cookie", "identity-provider-redirector"];

pub fn identifies(authenticator: &str) -> bool {
    IDENTIFYING.contains(&authenticator) || authenticator.starts_with("idp-")
}

/// How a config value is checked.
pub enum Check {
    Url,
    Any,
    Range(i64, i64),
    Bool,
}

/// `min..=max` of a hard limit of the sidecar, as a [`Check::Range`].
macro_rules! range {
    ($bound:ident) => {
        Check::Range(OTP_LIMITS.$bound.min as i64, OTP_LIMITS.$bound.max as i64)
    };
}

/// The authenticator's config keys (keycloak-flow's `OtpSidecarConfig`): whether
/// it refuses to run without the key, and the check its value gets. Bounds are
/// the sidecar's hard limits ([`OTP_LIMITS`]; a test keeps the Java copy
/// equal); keys left out take the authenticator's defaults. The last two are
/// Keycloak's own, read from every execution's config by its AMR mapper
/// (`AmrUtils`: the method reference and for how many seconds it counts).
pub const CONFIG_KEYS: [(&str, bool, Check); 13] = [
    ("otp.sidecar.public.url", true, Check::Url),
    ("otp.sidecar.jwks.url", true, Check::Url),
    ("otp.sidecar.issuer", true, Check::Url),
    ("otp.sidecar.audience", false, Check::Any),
    ("otp.code.length", false, range!(length)),
    ("otp.ttl", false, range!(ttl_secs)),
    ("otp.max.attempts", false, range!(max_attempts)),
    ("otp.resend.cooldown", false, range!(resend_cooldown_secs)),
    ("otp.max.resends", false, range!(max_resends)),
    ("otp.require.verified.email", false, Check::Bool),
    ("otp.remember.days", false, Check::Range(0, 90)),
    ("default.reference.value", false, Check::Any),
    (
        "default.reference.maxAge",
        false,
        Check::Range(0, i32::MAX as i64),
    ),
];

/// Keycloak's level-of-authentication condition (step-up flows).
const LOA_CONDITION: &str = "conditional-level-of-authentication";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Required,
    Conditional,
    Alternative,
    Disabled,
    Missing,
    Other,
}

fn req_of(node: &Node) -> Req {
    match node.get("requirement").and_then(Node::as_str) {
        Some("REQUIRED") => Req::Required,
        Some("CONDITIONAL") => Req::Conditional,
        Some("ALTERNATIVE") => Req::Alternative,
        Some("DISABLED") => Req::Disabled,
        None => Req::Missing,
        Some(_) => Req::Other,
    }
}

struct Exec<'a> {
    node: &'a Node,
    ptr: Pointer,
    authenticator: Option<&'a str>,
    sub_flow: Option<&'a str>,
    is_flow: bool,
    req: Req,
}

impl Exec<'_> {
    fn is_condition(&self) -> bool {
        !self.is_flow
            && self
                .authenticator
                .is_some_and(|a| a.starts_with("conditional-"))
    }

    fn is_sidecar(&self) -> bool {
        !self.is_flow && self.authenticator == Some(AUTHENTICATOR_ID)
    }

    /// Where a finding about this execution points: its `authenticator` (or `flowAlias`).
    fn anchor(&self) -> (Pointer, Pos) {
        let key = if self.is_flow {
            "flowAlias"
        } else {
            "authenticator"
        };
        match self.node.get(key) {
            Some(n) => (self.ptr.key(key), n.pos),
            None => (self.ptr.clone(), self.node.pos),
        }
    }

    fn requirement_at(&self) -> (Pointer, Pos) {
        match self.node.get("requirement") {
            Some(n) => (self.ptr.key("requirement"), n.pos),
            None => (self.ptr.clone(), self.node.pos),
        }
    }

    fn name(&self) -> String {
        match (self.is_flow, self.sub_flow, self.authenticator) {
            (true, Some(a), _) => format!("sub-flow \"{a}\""),
            (_, _, Some(a)) => format!("\"{a}\""),
            _ => "an execution".into(),
        }
    }
}

struct Flow<'a> {
    alias: Option<&'a str>,
    id: Option<&'a str>,
    /// In run order (by priority when every execution has one, else as listed).
    execs: Vec<Exec<'a>>,
}

struct Model<'a> {
    flows: Vec<Flow<'a>>,
}

impl<'a> Model<'a> {
    fn build(realm: &'a Node, base: &Pointer) -> Self {
        let flows_ptr = base.key("authenticationFlows");
        let flows = realm
            .get("authenticationFlows")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(fi, f)| {
                let fptr = flows_ptr.index(fi).key("authenticationExecutions");
                let mut execs: Vec<(Option<i64>, Exec<'a>)> = f
                    .get("authenticationExecutions")
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(ei, e)| {
                        let priority = e.get("priority").and_then(|p| match int_of(p) {
                            IntVal::Int(i) => Some(i),
                            _ => None,
                        });
                        let is_flow = e
                            .get("authenticatorFlow")
                            .is_some_and(|b| matches!(bool_of(b), BoolVal::Bool(true)));
                        let exec = Exec {
                            node: e,
                            ptr: fptr.index(ei),
                            authenticator: e.get("authenticator").and_then(Node::as_str),
                            sub_flow: e.get("flowAlias").and_then(Node::as_str),
                            is_flow,
                            req: req_of(e),
                        };
                        (priority, exec)
                    })
                    .collect();
                if execs.iter().all(|(p, _)| p.is_some()) {
                    execs.sort_by_key(|(p, _)| *p);
                }
                Flow {
                    alias: f.get("alias").and_then(Node::as_str),
                    id: f.get("id").and_then(Node::as_str),
                    execs: execs.into_iter().map(|(_, e)| e).collect(),
                }
            })
            .collect();
        Model { flows }
    }

    fn by_alias(&self, alias: &str) -> Option<usize> {
        self.flows.iter().position(|f| f.alias == Some(alias))
    }

    /// Client overrides hold a flow id in exports; config-cli also accepts the alias.
    fn by_id_or_alias(&self, key: &str) -> Option<usize> {
        self.flows
            .iter()
            .position(|f| f.id == Some(key))
            .or_else(|| self.by_alias(key))
    }

    fn has_condition(&self, fi: usize) -> bool {
        self.flows[fi]
            .execs
            .iter()
            .any(|e| e.is_condition() && e.req != Req::Disabled)
    }

    /// The sub-flow of a CONDITIONAL sub-flow execution gated by an enabled
    /// level-of-authentication condition (a level of a step-up flow).
    fn loa_level_flow(&self, e: &Exec<'_>) -> Option<usize> {
        if !e.is_flow || e.req != Req::Conditional {
            return None;
        }
        let sub = e.sub_flow.and_then(|a| self.by_alias(a))?;
        self.flows[sub]
            .execs
            .iter()
            .any(|c| !c.is_flow && c.authenticator == Some(LOA_CONDITION) && c.req != Req::Disabled)
            .then_some(sub)
    }

    /// Whether a REQUIRED/CONDITIONAL execution makes Keycloak ignore the alternatives.
    fn has_required(&self, fi: usize) -> bool {
        self.flows[fi]
            .execs
            .iter()
            .any(|e| !e.is_condition() && matches!(e.req, Req::Required | Req::Conditional))
    }

    fn contains_sidecar(&self, fi: usize, seen: &mut HashSet<usize>) -> bool {
        if !seen.insert(fi) {
            return false;
        }
        self.flows[fi].execs.iter().any(|e| {
            e.is_sidecar()
                || (e.is_flow
                    && e.sub_flow
                        .and_then(|a| self.by_alias(a))
                        .is_some_and(|s| self.contains_sidecar(s, seen)))
        })
    }

    fn exec_identifies(&self, e: &Exec<'_>, seen: &mut HashSet<usize>) -> bool {
        if e.is_flow {
            e.sub_flow
                .and_then(|a| self.by_alias(a))
                .is_some_and(|s| self.flow_identifies(s, seen))
        } else {
            e.authenticator.is_some_and(identifies)
        }
    }

    /// Whether every way through the flow identifies the user.
    fn flow_identifies(&self, fi: usize, seen: &mut HashSet<usize>) -> bool {
        if !seen.insert(fi) {
            return false;
        }
        let flow = &self.flows[fi];
        let result = if self.has_required(fi) {
            flow.execs.iter().any(|e| {
                (e.req == Req::Required || (!e.is_flow && e.req == Req::Conditional))
                    && self.exec_identifies(e, seen)
            })
        } else {
            let alts: Vec<&Exec<'_>> = flow
                .execs
                .iter()
                .filter(|e| e.req == Req::Alternative)
                .collect();
            !alts.is_empty() && alts.iter().all(|e| self.exec_identifies(e, seen))
        };
        seen.remove(&fi);
        result
    }
}

/// One way from a bound flow down to a step: (flow, position in run order) per level.
type Path = Vec<(usize, usize)>;

fn walk(model: &Model<'_>, fi: usize, path: &mut Path, out: &mut Vec<Path>, sink: &mut Sink) {
    for (k, e) in model.flows[fi].execs.iter().enumerate() {
        path.push((fi, k));
        if e.is_sidecar() {
            out.push(path.clone());
        } else if e.is_flow {
            match e.sub_flow.and_then(|a| model.by_alias(a)) {
                Some(sub) if !path.iter().any(|(f, _)| *f == sub) => {
                    walk(model, sub, path, out, sink)
                }
                Some(_) => {}
                None => {
                    let (ptr, pos) = e.anchor();
                    let what = e.sub_flow.map_or_else(
                        || "a sub-flow execution without flowAlias".to_string(),
                        |a| format!("sub-flow \"{a}\""),
                    );
                    sink.report(
                        &rules::FLOW_UNKNOWN,
                        ptr,
                        pos,
                        format!("{what} names no flow in this realm"),
                    );
                }
            }
        }
        path.pop();
    }
}

pub fn check(realm: &Node, base: &Pointer, sink: &mut Sink) {
    let model = Model::build(realm, base);
    let sidecars: Vec<(usize, usize)> = model
        .flows
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| {
            f.execs
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_sidecar())
                .map(move |(k, _)| (fi, k))
        })
        .collect();
    if sidecars.is_empty() {
        return;
    }

    check_brute_force(realm, base, sink);

    // The flows a login can start in: (flow, whether the user is already known there).
    let mut roots: Vec<(usize, bool)> = Vec::new();
    let mut resolve = |node: &Node, ptr: Pointer, what: &str, by_id: bool| -> Option<usize> {
        let found = node.as_str().and_then(|k| {
            if by_id {
                model.by_id_or_alias(k)
            } else {
                model.by_alias(k)
            }
        });
        if found.is_none() {
            sink.report(
                &rules::FLOW_UNKNOWN,
                ptr,
                node.pos,
                format!(
                    "{what} {} names no flow in this realm",
                    scalar_text(node)
                        .map_or_else(|| node.kind().to_string(), |s| format!("\"{s}\""))
                ),
            );
        }
        found
    };
    // On import Keycloak binds the flows aliased "browser" and "first broker login"
    // when browserFlow / firstBrokerLoginFlow are absent.
    for (key, default, broker) in [
        ("browserFlow", "browser", false),
        ("firstBrokerLoginFlow", "first broker login", true),
    ] {
        match realm.get(key) {
            Some(node) => {
                roots.extend(resolve(node, base.key(key), key, false).map(|f| (f, broker)))
            }
            None => roots.extend(model.by_alias(default).map(|f| (f, broker))),
        }
    }
    for (ci, client) in realm
        .get("clients")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(node) = client
            .get("authenticationFlowBindingOverrides")
            .and_then(|o| o.get("browser"))
        {
            let ptr = base
                .key("clients")
                .index(ci)
                .key("authenticationFlowBindingOverrides")
                .key("browser");
            roots.extend(
                resolve(node, ptr, "the client's browser flow override", true).map(|f| (f, false)),
            );
        }
    }
    // After a broker login the user is known: these flows start identified.
    for (ii, idp) in realm
        .get("identityProviders")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        for key in ["firstBrokerLoginFlowAlias", "postBrokerLoginFlowAlias"] {
            if let Some(node) = idp.get(key) {
                let ptr = base.key("identityProviders").index(ii).key(key);
                roots.extend(resolve(node, ptr, key, false).map(|f| (f, true)));
            }
        }
    }
    roots.sort_unstable();
    roots.dedup();

    let mut paths = Vec::new();
    for &(root, broker) in &roots {
        let mut found = Vec::new();
        walk(&model, root, &mut Vec::new(), &mut found, sink);
        paths.extend(found.into_iter().map(|p| (p, broker)));
    }
    let reached: HashSet<(usize, usize)> = paths
        .iter()
        .filter_map(|(p, _)| p.last().copied())
        .collect();

    let unreached: Vec<(usize, usize)> = sidecars
        .iter()
        .copied()
        .filter(|s| !reached.contains(s))
        .collect();
    if reached.is_empty() {
        if let Some(&(fi, k)) = unreached.first() {
            let (ptr, pos) = model.flows[fi].execs[k].anchor();
            let flows: Vec<String> = unreached
                .iter()
                .map(|(f, _)| format!("\"{}\"", model.flows[*f].alias.unwrap_or("?")))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let bound: Vec<String> = roots
                .iter()
                .map(|(f, _)| format!("\"{}\"", model.flows[*f].alias.unwrap_or("?")))
                .collect();
            let bound = if bound.is_empty() {
                "no login flow is bound".to_string()
            } else {
                format!("the bound flows are {}", bound.join(", "))
            };
            sink.report(
                &rules::SIDECAR_NOT_BOUND,
                ptr,
                pos,
                format!(
                    "otp-sidecar appears only in flow {} which no binding reaches ({bound}); set browserFlow or a client's browser override to it",
                    flows.join(", ")
                ),
            );
        }
    } else {
        for (fi, k) in unreached {
            let (ptr, pos) = model.flows[fi].execs[k].anchor();
            sink.report(
                &rules::SIDECAR_UNBOUND_FLOW,
                ptr,
                pos,
                format!(
                    "this otp-sidecar step is in flow \"{}\", which no binding reaches",
                    model.flows[fi].alias.unwrap_or("?")
                ),
            );
        }
    }

    for (path, broker) in &paths {
        check_path(&model, path, *broker, sink);
        if let Some(&(fi, k)) = path.last() {
            check_config(realm, base, &model.flows[fi].execs[k], sink);
        }
    }
}

fn check_brute_force(realm: &Node, base: &Pointer, sink: &mut Sink) {
    match realm.get("bruteForceProtected") {
        Some(n) => match bool_of(n) {
            BoolVal::Bool(true) | BoolVal::Opaque => {}
            _ => sink.report(
                &rules::SIDECAR_BRUTE_FORCE,
                base.key("bruteForceProtected"),
                n.pos,
                "bruteForceProtected is not true in a realm using otp-sidecar; set it to true"
                    .into(),
            ),
        },
        None => {
            let (ptr, pos) = realm.entry("realm").map_or((base.clone(), realm.pos), |e| {
                (base.key("realm"), e.key_pos)
            });
            sink.report(
                &rules::SIDECAR_BRUTE_FORCE,
                ptr,
                pos,
                "bruteForceProtected is not set (Keycloak's default is off) in a realm using otp-sidecar; set it to true".into(),
            );
        }
    }
}

fn check_path(model: &Model<'_>, path: &Path, identified_at_start: bool, sink: &mut Sink) {
    let Some(&(leaf_flow, leaf_k)) = path.last() else {
        return;
    };
    let leaf = &model.flows[leaf_flow].execs[leaf_k];

    // The step itself.
    let entered_by_condition = path.len() >= 2
        && path.get(path.len() - 2).is_some_and(|&(f, k)| {
            model.flows[f].execs[k].req == Req::Conditional && model.has_condition(leaf_flow)
        });
    let problem = match leaf.req {
        Req::Required => None,
        Req::Conditional if entered_by_condition => None,
        Req::Conditional => Some("is CONDITIONAL, which on a step (not a sub-flow) is no condition; make it REQUIRED, inside a CONDITIONAL sub-flow with a condition step if it should not always run".to_string()),
        Req::Alternative if model.has_required(leaf_flow) => Some("is ALTERNATIVE next to REQUIRED/CONDITIONAL executions, so Keycloak ignores it; make it REQUIRED".into()),
        Req::Alternative => Some("is ALTERNATIVE, so any other alternative that succeeds skips it; make it REQUIRED".into()),
        Req::Disabled => Some("is DISABLED; make it REQUIRED".into()),
        Req::Missing => Some("has no requirement; set it to REQUIRED".into()),
        Req::Other => Some("has an unknown requirement; set it to REQUIRED".into()),
    };
    if let Some(p) = problem {
        let (ptr, pos) = leaf.requirement_at();
        sink.report(
            &rules::SIDECAR_REQUIREMENT,
            ptr,
            pos,
            format!("the otp-sidecar step {p}"),
        );
    }

    // Every sub-flow on the way down.
    for (level, &(fi, k)) in path.iter().enumerate().take(path.len() - 1) {
        let branch = &model.flows[fi].execs[k];
        let sub = path.get(level + 1).map(|&(f, _)| f).unwrap_or(fi);
        let problem = match branch.req {
            Req::Required => None,
            Req::Conditional if model.has_condition(sub) => None,
            Req::Conditional => Some("is CONDITIONAL without an enabled condition step, so Keycloak skips it on every login; add a condition step or make it REQUIRED".to_string()),
            Req::Alternative if model.has_required(fi) => Some("is ALTERNATIVE next to REQUIRED/CONDITIONAL executions, so Keycloak ignores it".into()),
            Req::Alternative => {
                check_bypass(model, fi, k, sink);
                None
            }
            Req::Disabled => Some("is DISABLED".into()),
            Req::Missing => Some("has no requirement".into()),
            Req::Other => Some("has an unknown requirement".into()),
        };
        if let Some(p) = problem {
            let (ptr, pos) = branch.requirement_at();
            sink.report(
                &rules::SIDECAR_REQUIREMENT,
                ptr,
                pos,
                format!("{} holds the otp-sidecar step but {p}", branch.name()),
            );
        }
    }
    // Something before the step, on every way to it, identifies the user.
    let mut identified = identified_at_start;
    for &(fi, k) in path.iter().rev() {
        if identified {
            break;
        }
        let flow = &model.flows[fi];
        // Levels of a step-up flow: Keycloak runs the first level-gated sub-flow of
        // an authentication whatever its level (no level reached yet), and a later
        // level only after a level was reached, in this login or in the SSO session
        // the cookie identified. So a level that identifies the user, listed before
        // the level holding the step, identifies it for that level.
        let in_level = model.loa_level_flow(&flow.execs[k]).is_some();
        identified = flow.execs[..k].iter().any(|e| {
            ((e.req == Req::Required || (!e.is_flow && e.req == Req::Conditional))
                || (in_level && model.loa_level_flow(e).is_some()))
                && model.exec_identifies(e, &mut HashSet::new())
        });
    }
    if !identified {
        let (ptr, pos) = leaf.anchor();
        sink.report(
            &rules::SIDECAR_IDENTIFY,
            ptr,
            pos,
            format!(
                "no REQUIRED step before the otp-sidecar step identifies the user (one of {}, or idp-*)",
                IDENTIFYING.join(", ")
            ),
        );
    }
}

/// Alternatives next to an ALTERNATIVE branch holding the step: each one that
/// can finish the login on its own is a way around the step.
fn check_bypass(model: &Model<'_>, fi: usize, k: usize, sink: &mut Sink) {
    for (j, other) in model.flows[fi].execs.iter().enumerate() {
        if j == k || other.req != Req::Alternative {
            continue;
        }
        let accepted = if other.is_flow {
            other
                .sub_flow
                .and_then(|a| model.by_alias(a))
                .is_some_and(|s| model.contains_sidecar(s, &mut HashSet::new()))
        } else {
            other
                .authenticator
                .is_some_and(|a| ACCEPTED_ALTERNATIVES.contains(&a))
        };
        if !accepted {
            let (ptr, pos) = other.anchor();
            sink.report(
                &rules::SIDECAR_BYPASS,
                ptr,
                pos,
                format!(
                    "{} is an alternative to the branch holding the otp-sidecar step and can finish the login without it",
                    other.name()
                ),
            );
        }
    }
}

fn url_problem(value: &str) -> Option<String> {
    let url = match url::Url::parse(value) {
        Ok(u) => u,
        Err(e) => return Some(format!("is not a URL ({e})")),
    };
    let Some(host) = url.host() else {
        return Some("has no host".into());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some("must not carry user info".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Some("must not carry a query or a fragment".into());
    }
    match url.scheme() {
        "https" => None,
        "http" if crate::net::is_loopback_url_host(&host) => None,
        "http" => Some(
            "uses plain http to a host other than localhost, 127.0.0.0/8 or ::1; use https".into(),
        ),
        s => Some(format!("has scheme \"{s}\"; use https")),
    }
}

fn check_config(realm: &Node, base: &Pointer, exec: &Exec<'_>, sink: &mut Sink) {
    let Some(alias_node) = exec.node.get("authenticatorConfig") else {
        let (ptr, pos) = exec.anchor();
        sink.report(
            &rules::SIDECAR_CONFIG_MISSING,
            ptr,
            pos,
            "the otp-sidecar step has no authenticatorConfig; it needs the sidecar's URL and settings".into(),
        );
        return;
    };
    let alias = alias_node.as_str().unwrap_or_default();
    let configs = realm
        .get("authenticatorConfig")
        .map(Node::items)
        .unwrap_or_default();
    let Some((ci, cfg)) = configs
        .iter()
        .enumerate()
        .rev()
        .find(|(_, c)| c.get("alias").and_then(Node::as_str) == Some(alias))
    else {
        sink.report(
            &rules::SIDECAR_CONFIG_MISSING,
            exec.ptr.key("authenticatorConfig"),
            alias_node.pos,
            format!("authenticatorConfig \"{alias}\" is not among the realm's authenticatorConfig entries"),
        );
        return;
    };
    let cptr = base.key("authenticatorConfig").index(ci);
    let names: Vec<&str> = CONFIG_KEYS.iter().map(|(k, ..)| *k).collect();
    let required: Vec<&str> = CONFIG_KEYS
        .iter()
        .filter(|(_, r, _)| *r)
        .map(|(k, ..)| *k)
        .collect();
    let Some(map) = cfg.get("config") else {
        sink.report(
            &rules::SIDECAR_CONFIG_INCOMPLETE,
            cptr.clone(),
            cfg.pos,
            format!(
                "authenticatorConfig \"{alias}\" has no config; the authenticator needs {}",
                required.join(", ")
            ),
        );
        return;
    };
    let mptr = cptr.key("config");
    for e in map.entries() {
        if !names.contains(&e.key.as_str()) {
            let hint = closest(&e.key, &names)
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_else(|| format!("; the authenticator reads {}", names.join(", ")));
            sink.report(
                &rules::SIDECAR_CONFIG_UNKNOWN_KEY,
                mptr.key(&e.key),
                e.key_pos,
                format!("config key \"{}\" is not read by otp-sidecar{hint}", e.key),
            );
        }
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| map.get(k).is_none())
        .collect();
    if !missing.is_empty() {
        sink.report(
            &rules::SIDECAR_CONFIG_INCOMPLETE,
            mptr.clone(),
            map.pos,
            format!(
                "authenticatorConfig \"{alias}\" lacks {}, without which the authenticator refuses to run",
                missing.join(", ")
            ),
        );
    }
    for (key, _, check) in &CONFIG_KEYS {
        let Some(node) = map.get(key) else { continue };
        let Some(text) = scalar_text(node) else {
            sink.report(
                &rules::SIDECAR_CONFIG_INVALID,
                mptr.key(key),
                node.pos,
                format!("{key} must be a single value, found {}", node.kind()),
            );
            continue;
        };
        if super::doc::is_substitution(&text) {
            continue;
        }
        let text = text.trim();
        let problem = match check {
            Check::Url => url_problem(text),
            Check::Any => None,
            Check::Range(lo, hi) => match text.parse::<i64>() {
                Ok(n) if (*lo..=*hi).contains(&n) => None,
                Ok(n) => Some(format!("is {n}; the sidecar accepts {lo}..={hi}")),
                Err(_) => Some(format!("is \"{text}\", not an integer in {lo}..={hi}")),
            },
            Check::Bool
                if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") =>
            {
                None
            }
            Check::Bool => Some(format!("is \"{text}\", not true or false")),
        };
        if let Some(p) = problem {
            sink.report(
                &rules::SIDECAR_CONFIG_INVALID,
                mptr.key(key),
                node.pos,
                format!("{key} {p}"),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
