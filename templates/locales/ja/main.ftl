# 日本語（です・ます調）。locales/en/main.ftl のすべてのメッセージがここに必要です。
# 日本語には複数形がないため、数による分岐は *[other] だけで足ります。

## コードのメール

mail-subject = { $app } のサインイン用コード
mail-subject-resent = { $app } の新しいサインイン用コード
mail-heading = サインイン用コード
mail-greeting = こんにちは。
mail-greeting-name = { $name } 様
mail-intro = { $app } にサインインするには、次のコードを入力してください。
mail-intro-resent = { $app } にサインインするための新しいコードです。以前に送信したコードは使えなくなりました。
mail-expiry = このコードの有効期限は { $minutes } 分後（{ $time }）です。
mail-once = このコードは 1 回だけ使えます。誰にも教えないでください。電話、チャット、メールでコードをお尋ねすることはありません。
mail-not-you-title = サインインしようとしていませんか？
mail-not-you = その場合、このメールは無視してかまいません。コードがなければ誰もサインインできません。誰かが誤ってあなたのアドレスを入力した可能性があります。心当たりのないコードが何度も届く場合は、パスワードを変更してください。
mail-footer = このメールは、このアドレスで { $app } へのサインインが開始されたため、{ $email } に送信されました。

## ページの枠

page-title = { $title } – { $product }

## コード入力ページ

code-title = コードを入力
code-heading = メールを確認してください
code-app = { $app } にサインインします
code-sent = { $email } に { $length } 桁のコードを送信しました。
code-sending = { $email } にコードを送信しています。メールが送信されると、このページは自動で更新されます。
code-send-failed = { $email } にコードのメールを送信できませんでした。新しいコードをリクエストしてください。回数には数えられません。
notice-resent = { $email } に新しいコードを送信しました。以前に送信したコードは使えなくなりました。
notice-send-limited = このアドレスに送信したコードが多すぎます。数分待ってから、もう一度リクエストしてください。
notice-invalid =
    { $attempts ->
        [0] コードが正しくありません。残りの試行回数はありません。
       *[other] コードが正しくありません。残り { $attempts } 回試せます。
    }
notice-cooldown = 新しいコードをリクエストするまで { $seconds } 秒お待ちください。
code-label = サインイン用コード
code-hint = メールに記載された { $length } 桁の数字を入力してください。
code-submit = 続行
code-expires-in = このコードはあと { $minutes } 分で無効になります。
code-expires-soon = このコードはまもなく（1 分以内に）無効になります。
code-expired-heading = コードの有効期限が切れました
code-expired-text = 安全のため、コードは数分間しか使えません。続けるには新しいコードをリクエストしてください。
resend-button = 新しいコードを送信
resend-wait = { $seconds } 秒後に新しいコードをリクエストできます。
resend-none = このサインインでは、これ以上コードを送信できません。
cancel-button = サインインをキャンセル

## リダイレクトページ

redirect-title = サインインを続行しています
redirect-heading = サインインを続行しています…
redirect-text = { $app } に戻ります。
redirect-text-generic = 次の手順に進みます。
redirect-noscript = ブラウザーで JavaScript が無効になっています。「続行」を選んで先に進んでください。
redirect-button = 続行

## エラーページ（原因別）

error-title =
    { $reason ->
        [invalid_request] このサインイン要求は無効です
        [send_limited] 送信したコードが多すぎます
        [no_challenge] 進行中のサインインはありません
        [expired] コードの有効期限が切れました
        [locked] 間違ったコードが多すぎます
        [not_found] ページが見つかりません
       *[other] 問題が発生しました
    }
error-text =
    { $reason ->
        [invalid_request] サインイン要求が不完全か、有効期限が切れているか、すでに使用されています。
        [send_limited] このアドレスに送信したコードが多すぎます。数分待ってから、もう一度サインインしてください。
        [no_challenge] このサインインは完了したか期限切れになりました。またはブラウザーが Cookie を保持していません。
        [expired] 安全のため、コードは数分間しか使えません。
        [locked] 安全のため、間違ったコードの入力が多すぎたので、このコードはブロックされました。
        [not_found] このアドレスはサインインの一部ではないか、直接開くことはできません。
       *[other] 予期しないエラーでサインインが中断されました。数分後にもう一度お試しください。
    }
error-back = アプリケーションに戻り、もう一度サインインしてください。
error-back-app = { $app } に戻り、もう一度サインインしてください。
error-restart = サインインをやり直す


## Finished page (what Back shows after the step)

finished-title = サインインの手順が完了しました
finished-heading =
    { $result ->
        [success] コードが確認されました
       *[other] このサインインの手順は終了しました
    }
finished-text =
    { $result ->
        [success] { $app } が開くとサインインが完了します。
       *[other] もう一度サインインするには { $app } に戻ってください。
    }
finished-text-generic =
    { $result ->
        [success] アプリケーションが開くとサインインが完了します。
       *[other] もう一度サインインするにはアプリケーションに戻ってください。
    }
finished-link = { $app } へ移動
finished-link-generic = アプリケーションへ移動
finished-close = このページは閉じてかまいません。

## 日付と時刻（すべて UTC）

month-name = { $month }月
datetime-full = { $year }年{ $month }{ $day }日 { $hour2 }:{ $minute }（UTC）
datetime-date = { $year }年{ $month }{ $day }日
datetime-time = { $hour2 }:{ $minute }（UTC）
