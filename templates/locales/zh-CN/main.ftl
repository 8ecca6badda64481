# 简体中文。locales/en/main.ftl 中的每条消息都必须在此出现。
# 中文没有复数变化，按数字分支时只需 *[other]。

## 验证码邮件

mail-subject = 您登录 { $app } 的验证码
mail-subject-resent = 您登录 { $app } 的新验证码
mail-heading = 您的登录验证码
mail-greeting = 您好：
mail-greeting-name = { $name }，您好：
mail-intro = 请使用以下验证码登录 { $app }：
mail-intro-resent = 这是您登录 { $app } 的新验证码。之前发送的验证码已失效。
mail-expiry = 验证码将在 { $minutes } 分钟后（{ $time }）过期。
mail-once = 验证码只能使用一次。请勿告诉任何人：我们绝不会通过电话、聊天或邮件向您索要验证码。
mail-not-you-title = 不是您本人在登录？
mail-not-you = 您可以放心忽略这封邮件：没有验证码，任何人都无法登录。可能是有人误输入了您的邮箱地址。如果您不断收到自己没有请求的验证码，请修改密码。
mail-footer = 此邮件发送至 { $email }，因为有人使用该地址开始登录 { $app }。

## 页面框架

page-title = { $title } – { $product }

## 输入验证码页面

code-title = 输入验证码
code-heading = 请查收邮件
code-app = 以登录 { $app }
code-sent = 我们已向 { $email } 发送了 { $length } 位验证码。
code-sending = 我们正在向 { $email } 发送验证码。邮件发出后，此页面会自动更新。
code-send-failed = 我们无法将验证码邮件发送到 { $email }。请重新获取验证码，这不会计入您的次数。
notice-resent = 我们已向 { $email } 发送了新的验证码。之前发送的验证码已失效。
notice-send-limited = 发送到此地址的验证码过多。请等待几分钟后再重新获取。
notice-invalid =
    { $attempts ->
        [0] 验证码不正确。您已没有剩余尝试次数。
       *[other] 验证码不正确。您还可以尝试 { $attempts } 次。
    }
notice-cooldown = 请等待 { $seconds } 秒后再获取新的验证码。
code-label = 登录验证码
code-hint = 请输入邮件中的 { $length } 位数字。
code-submit = 继续
code-expires-in = 验证码将在 { $minutes } 分钟后过期。
code-expires-soon = 验证码将在一分钟内过期。
code-expired-heading = 您的验证码已过期
code-expired-text = 为了您的安全，每个验证码只在几分钟内有效。请获取新的验证码以继续。
resend-button = 发送新验证码
resend-wait = { $seconds } 秒后可获取新的验证码。
resend-none = 本次登录无法再发送更多验证码。
cancel-button = 取消登录

## 跳转页面

redirect-title = 正在继续登录
redirect-heading = 正在继续登录…
redirect-text = 正在返回 { $app }。
redirect-text-generic = 正在前往下一步。
redirect-noscript = 您的浏览器已关闭 JavaScript。请选择“继续”以进入下一步。
redirect-button = 继续

## 错误页面（按原因）

error-title =
    { $reason ->
        [invalid_request] 此登录请求无效
        [send_limited] 发送的验证码过多
        [no_challenge] 没有正在进行的登录
        [expired] 验证码已过期
        [locked] 错误的验证码过多
        [not_found] 找不到页面
       *[other] 出现了问题
    }
error-text =
    { $reason ->
        [invalid_request] 登录请求不完整、已过期或已被使用。
        [send_limited] 发送到此地址的验证码过多。请等待几分钟，然后重新登录。
        [no_challenge] 此次登录已结束或已超时，或者您的浏览器没有保留 Cookie。
        [expired] 为了您的安全，每个验证码只在几分钟内有效。
        [locked] 为了您的安全，由于错误尝试次数过多，此验证码已被锁定。
        [not_found] 此地址不属于登录流程，或无法直接打开。
       *[other] 意外错误中断了登录。请几分钟后重试。
    }
error-back = 请返回应用并重新登录。
error-back-app = 请返回 { $app } 并重新登录。
error-restart = 重新开始登录


## Finished page (what Back shows after the step)

finished-title = 登录步骤已完成
finished-heading =
    { $result ->
        [success] 您的验证码已通过
       *[other] 此登录步骤已结束
    }
finished-text =
    { $result ->
        [success] { $app } 打开后您即已登录。
       *[other] 请返回 { $app } 重新登录。
    }
finished-text-generic =
    { $result ->
        [success] 应用打开后您即已登录。
       *[other] 请返回应用重新登录。
    }
finished-link = 前往 { $app }
finished-link-generic = 前往应用
finished-close = 您可以关闭此页面。

## 日期和时间（均为 UTC）

month-name = { $month }月
datetime-full = { $year }年{ $month }{ $day }日 { $hour2 }:{ $minute }（UTC）
datetime-date = { $year }年{ $month }{ $day }日
datetime-time = { $hour2 }:{ $minute }（UTC）
