//! Handlebars helpers designers use: `t` (a Fluent message) and `datetime`
//! (a unix time in the reader's locale).
use std::sync::{Arc, Mutex};

use fluent_bundle::{FluentArgs, FluentValue};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};

use super::locale::{datetime_args, fluent_value, Locales, MessageIssue};

/// A message problem met while rendering, with the template it came from.
#[derive(Debug, Clone)]
pub struct RenderIssue {
    pub template: Option<String>,
    /// The message id, to find its position in the template.
    pub needle: String,
    pub issue: MessageIssue,
}

/// Where render-time message issues go. The check collects them; a normal
/// render turns a message missing everywhere into an error.
pub type Collector = Arc<Mutex<Vec<RenderIssue>>>;

fn locale_of(ctx: &Context) -> String {
    ctx.data()
        .get("locale")
        .and_then(|v| v.as_str())
        .unwrap_or(super::locale::DEFAULT_LOCALE)
        .to_string()
}

fn record(
    collector: &Option<Collector>,
    rc: &RenderContext<'_, '_>,
    needle: &str,
    issues: Vec<MessageIssue>,
) {
    if let Some(c) = collector {
        if let Ok(mut list) = c.lock() {
            for issue in issues {
                list.push(RenderIssue {
                    template: rc
                        .get_current_template_name()
                        .or(rc.get_root_template_name())
                        .cloned(),
                    needle: needle.to_string(),
                    issue,
                });
            }
        }
    }
}

/// `{{t "message-id" name=value ...}}`: the message in the page's locale,
/// hash values passed as Fluent variables (numbers select plural forms).
pub struct Translate {
    pub locales: Arc<Locales>,
    pub collector: Option<Collector>,
}

impl HelperDef for Translate {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let id_param = h
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("t", 0))?;
        let id = id_param
            .value()
            .as_str()
            .ok_or(RenderErrorReason::InvalidParamType(
                "string (the message id) as the first parameter of `t`",
            ))?
            .to_string();
        let mut args = FluentArgs::new();
        for (name, value) in h.hash() {
            if r.strict_mode() && value.is_value_missing() {
                return Err(RenderError::strict_error(value.relative_path()));
            }
            args.set(name.to_string(), fluent_value(value.value()));
        }
        let locale = locale_of(ctx);
        let mut issues = Vec::new();
        let text = self.locales.format(&locale, &id, &args, &mut issues);
        match (text, &self.collector) {
            (Some(text), _) => {
                record(&self.collector, rc, &id, issues);
                Ok(ScopedJson::Derived(serde_json::Value::String(text)))
            }
            (None, Some(_)) => {
                record(&self.collector, rc, &id, issues);
                Ok(ScopedJson::Derived(serde_json::Value::String(format!(
                    "[{id}]"
                ))))
            }
            (None, None) => Err(RenderErrorReason::Other(format!(
                "message `{id}` is not defined for locale {locale} nor its fallbacks"
            ))
            .into()),
        }
    }
}

/// `{{datetime unix}}` (date and time) or `{{datetime unix format="time"}}`:
/// formatted with the locale's `datetime-full` / `datetime-time` messages,
/// in UTC.
pub struct DateTime {
    pub locales: Arc<Locales>,
    pub collector: Option<Collector>,
}

impl HelperDef for DateTime {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let param = h
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("datetime", 0))?;
        if r.strict_mode() && param.is_value_missing() {
            return Err(RenderError::strict_error(param.relative_path()));
        }
        let unix = param
            .value()
            .as_i64()
            .ok_or(RenderErrorReason::InvalidParamType(
                "unix time in seconds as the parameter of `datetime`",
            ))?;
        let format = match h.hash_get("format").map(|v| v.value()) {
            None => "full",
            Some(serde_json::Value::String(s)) if s == "full" || s == "time" || s == "date" => {
                s.as_str()
            }
            Some(other) => {
                return Err(RenderErrorReason::Other(format!(
                    "`datetime` format must be \"full\", \"date\" or \"time\", not {other}"
                ))
                .into())
            }
        };
        let (mut args, month) = datetime_args(unix).ok_or_else(|| {
            RenderErrorReason::Other(format!("`datetime`: {unix} is out of range"))
        })?;
        let locale = locale_of(ctx);
        let mut issues = Vec::new();
        let mut month_args = FluentArgs::new();
        month_args.set("month", FluentValue::from(month));
        let month_name = self
            .locales
            .format(&locale, "month-name", &month_args, &mut issues)
            .unwrap_or_else(|| month.to_string());
        args.set("month", FluentValue::from(month_name));
        let id = format!("datetime-{format}");
        let text = self.locales.format(&locale, &id, &args, &mut issues);
        record(&self.collector, rc, "datetime", issues);
        match text {
            Some(t) => Ok(ScopedJson::Derived(serde_json::Value::String(t))),
            None if self.collector.is_some() => Ok(ScopedJson::Derived(serde_json::Value::String(
                format!("[{id}]"),
            ))),
            None => Err(RenderErrorReason::Other(format!(
                "message `{id}` is not defined for locale {locale} nor its fallbacks"
            ))
            .into()),
        }
    }
}
