"""What the service layers refuse, in the faces' languages: the second half of the one catalog.

The service layers (cabin.queue, cabin.kiosk) word a refusal once, in English, as a template with
named values (`cabin.queue.errors.Said`). This table gives each template in Chinese with the same
names; `say` fills it with the values, each value said again when it is itself a `Said` (an ID
check's verdict inside "the ID number is not valid: {reason}") or, under a name of WORD_VALUES, a
word of the service layers' vocabulary (a state, a role, a kind). English is the templates themselves. A refusal whose template is
missing here is shown as the service worded it: tests/test_refusals.py fails on any raise in a
module the faces reach whose template is not here.
"""

from __future__ import annotations

from cabin.queue.errors import CabinError, Said

# English template -> Chinese template, the same {names}. Sorted by the module that says it.
REFUSALS: dict[str, str] = {
    # kiosk/accounts.py
    "wrong name or password, or the account cannot sign in now": "账号或密码错误，或该账号现在不能登录",
    "unknown password hash \"{alg}\"": "未知的密码散列算法“{alg}”",
    "a password needs at least {n} characters": "密码至少需要 {n} 个字符",
    "a password has at most {n} characters": "密码最多 {n} 个字符",
    "a password cannot contain control characters (tab, escape, newline ...)": "密码不能包含控制字符（制表符、Esc、换行等）",
    "an account name cannot be empty": "账号名不能为空",
    "an account name has at most {n} characters": "账号名最多 {n} 个字符",
    "an account name cannot contain spaces, control or invisible characters (found {found})":
        "账号名不能包含空格、控制字符或不可见字符（发现 {found}）",
    "unknown role \"{role}\" (roles: clerk, supervisor, admin)":
        "没有角色“{role}”（可选：clerk 窗口民警、supervisor 主管、admin 管理员）",
    "the account {name} no longer exists": "账号 {name} 已不存在",
    "the account {name} is disabled": "账号 {name} 已停用",
    "{name} is a {role}: this needs {one} or {other}": "{name} 是{role}账号：此操作需要{one}或{other}账号",
    "{name} is a {role}: this needs {needed}": "{name} 是{role}账号：此操作需要{needed}账号",
    "there is no account {name}": "没有账号 {name}",
    "a password is changed either with the old one or by an admin": "修改密码须提供原密码，或由管理员重置",
    "there is already an account {name}": "账号 {name} 已存在",
    "the database has accounts already: an admin must add new ones": "数据库中已有账号：新账号须由管理员添加",
    "the first account must be an admin (--role admin)": "第一个账号必须是管理员（--role admin）",
    "{name} is the last enabled admin: add another admin first": "{name} 是最后一个在用的管理员账号：请先添加另一个管理员",
    # kiosk/business/announce.py
    "{ticket} is not a ticket number like A001": "{ticket} 不是 A001 这样的票号",
    "window {window} is not a window number (1 to {largest})": "{window} 不是窗口号（1 至 {largest}）",
    # kiosk/speech.py
    "no voice for the announcements: install espeak-ng's with pip install 'cabin[voice]', or name a program in "
    "[board] speech_command": "没有叫号语音：请用 pip install 'cabin[voice]' 安装 espeak-ng 语音，或在 [board] speech_command 中指定语音程序",
    "espeak-ng did not start: its voice data is missing or damaged (reinstall espeakng-loader)":
        "espeak-ng 未能启动：语音数据缺失或损坏（请重新安装 espeakng-loader）",
    "espeak-ng has no voice for {lang}": "espeak-ng 没有 {lang} 的语音",
    "espeak-ng could not say {text}": "espeak-ng 无法朗读 {text}",
    "the speech command {program} was not found ([board] speech_command)": "找不到语音程序 {program}（[board] speech_command）",
    "the speech command took more than {seconds} s ([board] speech_command)":
        "语音程序运行超过 {seconds} 秒（[board] speech_command）",
    "the speech command failed (exit {code}): {why}": "语音程序失败（退出码 {code}）：{why}",
    "the speech command must write 16-bit PCM WAV ([board] speech_command)":
        "语音程序必须输出 16 位 PCM 的 WAV 文件（[board] speech_command）",
    "the speech command did not write a WAV file ([board] speech_command)": "语音程序没有写出 WAV 文件（[board] speech_command）",
    "the speech command wrote its phrases at different rates or channels": "语音程序输出的各句采样率或声道数不一致",
    # kiosk/player.py
    "the player {program} was not found ([board] player_command)": "找不到播放程序 {program}（[board] player_command）",
    "the player took more than {seconds} s ([board] player_command)": "播放程序运行超过 {seconds} 秒（[board] player_command）",
    "the player failed (exit {code}): {why}": "播放程序失败（退出码 {code}）：{why}",
    # kiosk/appointments.py
    "\"{code}\" is not a booking code (letters, digits and \"-\", at most 32)":
        "“{code}”不是预约码（字母、数字和“-”，最多 32 位）",
    "a booking code cannot be an ID number": "预约码不能是公民身份号码",
    "a booking code cannot hold {found}": "预约码中不能含有{found}",
    "{file} is not valid JSON: {why}": "{file} 不是有效的 JSON：{why}",
    "{file} must be a JSON list of objects with the keys {columns}": "{file} 须为 JSON 对象列表，键为 {columns}",
    "missing column {column} (the header is {columns})": "缺少列 {column}（表头应为 {columns}）",
    "unexpected column {column} (the header is {columns})": "多余的列 {column}（表头应为 {columns}）",
    "{found} values where the header has {wanted}": "有 {found} 个值，表头为 {wanted} 列",
    "bad date {value}: times are YYYY-MM-DD HH:MM": "时间 {value} 有误：格式为 YYYY-MM-DD HH:MM",
    "missing {column}": "缺少 {column}",
    "unexpected key {column} (the keys are {columns})": "多余的键 {column}（键应为 {columns}）",
    "the slot ends ({end}) before it starts ({start})": "预约时段的结束时间（{end}）早于开始时间（{start}）",
    "phone_last4 must be the last 4 digits of a phone number (found {length} characters)":
        "phone_last4 须为手机号后 4 位数字（现为 {length} 个字符）",
    "cannot read {file}: {why}": "无法读取 {file}：{why}",
    "{file} is not UTF-8 text": "{file} 不是 UTF-8 文本",
    "{file} holds no bookings": "{file} 中没有预约",
    "the code {code} is already in the file, at {place}": "预约码 {code} 在文件中重复（已见于{place}）",
    "line {line}": "第 {line} 行",
    "booking {line}": "第 {line} 条预约",
    "{file}, {place}: {reason}": "{file}，{place}：{reason}",
    "the code {code} was already imported": "预约码 {code} 已导入过",
    "the appointment {code} is for {day}, not today: take an ordinary ticket": "预约 {code} 是 {day} 的，不是今天：请取普通号",
    "the appointment {code} is past its retention and was purged: take an ordinary ticket": "预约 {code} 已过保存期限并已清除：请取普通号",
    "your appointment is from {start} to {end}; it can be checked in from {opens}: you get an ordinary ticket":
        "您的预约时段为 {start} 至 {end}，{opens} 起方可签到：现为您取普通号",
    "your appointment was from {start} to {end}; it could be checked in until {closes}: you get an ordinary ticket":
        "您的预约时段为 {start} 至 {end}，签到截止于 {closes}：现为您取普通号",
    "no appointment {code}": "没有预约 {code}",
    "the appointment {code} was already checked in: its ticket is {ticket} ({day})":
        "预约 {code} 已签到过：号票为 {ticket}（{day}）",
    # kiosk/applications.py
    "the ID number {number} is not valid: {reason}": "公民身份号码 {number} 无效：{reason}",
    "there is no application {receipt}": "没有受理回执为 {receipt} 的申请",
    "unknown kind \"{kind}\" (first, renewal or replacement)":
        "未知的申领类型“{kind}”（可选：first 首次申领、renewal 换领、replacement 补领）",
    "{number} already has an open application": "{number} 已有在办的居民身份证申请，不能重复受理",
    "unknown state \"{state}\" (approved, received, collected or refused)":
        "未知的状态“{state}”（可选：approved 户籍地已审批、received 证件已到、collected 已领取、refused 不予受理）",
    # kiosk/cardface.py
    "the address is too long for the card ({count} characters; at most {lines} lines fit): shorten it "
    "as the household register writes it":
        "住址太长，证件上放不下（{count} 个字；最多 {lines} 行）：请按户口簿上的写法缩短",
    "the card's font has no glyph for {shown}: an identity card must not show a missing-glyph box, so "
    "it is not printed. Install a font that has them (one with CJK Extension B for rare characters): a "
    "system font is used as soon as it has every character, or set [temporary_card] font to it":
        "证件字体缺少 {shown} 的字形：身份证件上不得出现缺字方框，因此不予打印。请安装包含这些字的字体（生僻字需含 CJK 扩展 B 的字体）："
        "系统字体只要包含全部这些字即会自动使用，也可将 [temporary_card] font 设为该字体",
    "the name is too long for the card ({count} characters)": "姓名太长，证件上放不下（{count} 个字）",
    # kiosk/cardrules.py
    "an application that is {state} can go to {steps}, not {to}": "{state}的申请只能转为{steps}，不能转为{to}",
    "{first} or {second}": "{first}或{second}",
    "the birth date is after the application date": "出生日期晚于申请日期",
    "a first application from another province is not accepted here (policy)": "本所不受理外省居民的首次申领（政策规定）",
    "a refusal needs a reason": "驳回须填写原因",
    "an application that is {state} can go to nothing (it is closed), not {to}": "{state}的申请已办结，不能再转为{to}",
    # kiosk/identity.py
    "no ID number was given": "未输入公民身份号码",
    "18 digits expected, got {count}": "公民身份号码应为 18 位，现为 {count} 位",
    "X is allowed only as the last character, got X at position {position}": "X 只能是最后一位，第 {position} 位却是 X",
    "a 15-digit number has no check character: X at position 15 is not allowed": "15 位号码没有校验码：第 15 位不能是 X",
    "born in the future: the birth date {birth} is after today": "出生日期 {birth} 晚于今天，不可能",
    "no region {code} has ever existed": "行政区划代码 {code} 从未使用过",
    "region {code} ({name}) was abolished in {year}, before the birth in {birth_year}":
        "行政区划代码 {code}（{name}）已于 {year} 年撤销，早于出生年份 {birth_year} 年",
    "\"{character}\" at position {position} is not allowed: an ID number has only digits and a final X":
        "第 {position} 位的“{character}”不允许：公民身份号码只能是数字，最后一位可以是 X",
    "the check character should be {expected}, not {typed}: a digit was probably mistyped":
        "校验码应为 {expected}，不是 {typed}：可能有一位数字输错了，请核对",
    "the birth date {birth} does not exist": "出生日期 {birth} 不存在",
    "region {code} ({name}) is not in use yet": "行政区划代码 {code}（{name}）尚未启用",
    "a space at position {position} is not allowed: an ID number has only digits and a final X":
        "第 {position} 位是空格，不允许：公民身份号码只能是数字，最后一位可以是 X",
    # kiosk/intake.py
    "unknown service \"{service}\"": "未知的业务“{service}”",
    "{service} has a fixed fee: --fine is only for assessed fines": "{service} 是固定收费：--fine 只用于需核定金额的罚款",
    "{service} needs a fee option: {options}": "{service} 需选择收费项目：{options}",
    "{option} ({yuan} yuan)": "{option}（{yuan} 元）",
    "{first}, {rest}": "{first}、{rest}",
    "{service} has no fixed fee: give the assessed amount with --fine YUAN":
        "{service} 没有固定收费：请填写核定的金额（--fine 元数）",
    "the fine must be from 1 to {most} yuan ({service}), not {fine}: check the amount":
        "罚款金额须在 1 至 {most} 元之间（{service}），{fine} 不在此范围：请核对金额",
    "{service} has one fee ({yuan} yuan): no --fee-option":
        "{service} 只有一种收费（{yuan} 元）：无需选择收费项目（--fee-option）",
    "the ID number is not valid: {reason}": "公民身份号码无效：{reason}",
    "{ticket} is at window {window} for {service}: intake is for exit-entry and traffic errands (ID "
    "cards have their own workflows)":
        "{ticket} 正在 {window} 号窗口办理 {service}：业务受理只用于出入境和交管业务（居民身份证业务另有专门流程）",
    "check the documents first ({documents}), then record with --documents-checked":
        "请先核对材料（{documents}），核对后再登记（--documents-checked）",
    # kiosk/lostfound.py
    "the finder's phone must be 5 to 20 digits (spaces, dashes and a leading + allowed)":
        "拾获人电话应为 5 至 20 位数字（可含空格、短横线，开头可加 +）",
    "unknown identity source \"{source}\" (reader or manual)":
        "未知的身份信息来源“{source}”（可选：reader 读卡、manual 手工录入）",
    "the {what} {number} is not valid: {reason}": "{what} {number} 无效：{reason}",
    "there is no loss report {receipt}": "没有受理回执为 {receipt} 的挂失",
    'unknown way "{how}" (phone, sms or letter)': "未知的告知方式“{how}”（可选：phone 电话、sms 短信、letter 信函）",
    "found card {found_id} is {state}: only a held card's owner is told": "拾获证件 {found_id} {state}：只有待领的证件才需告知失主",
    "the owner of found card {found_id} has been told already": "拾获证件 {found_id} 的失主已经告知过了",
    "there is no found card {found_id}": "没有招领 {found_id} 号",
    "a loss report is made in person only: the applicant {applicant} is not the card's holder {holder}":
        "挂失须本人办理：申请人 {applicant} 不是证件持有人 {holder}",
    "unknown state \"{state}\" ({states})": "未知的状态“{state}”（可选：{states}）",
    "the date found {found_on} is in the future": "拾获日期 {found_on} 晚于今天",
    "the date found {found_on} is before {earliest}: check the year": "拾获日期 {found_on} 早于 {earliest}：请核对年份",
    "{number} already has an open loss report, {receipt}": "{number} 已有未解除的挂失（{receipt}）",
    "the card presented ({number}) is not the one reported in {receipt}":
        "出示的证件（{number}）不是挂失 {receipt} 中登记的证件",
    "{receipt} is {state}, not reported: it cannot be cancelled": "{receipt} 状态为“{state}”，不是“已挂失”：不能解挂",
    "{receipt} is {state}, not reported": "{receipt} 状态为“{state}”，不是“已挂失”",
    "the date found \"{found_on}\" is not a date (YYYY-MM-DD)": "拾获日期“{found_on}”不是有效日期（格式为 YYYY-MM-DD）",
    "the person's number ({number}) is not the card's ({card}): only the owner collects it":
        "来人的号码（{number}）与证件号码（{card}）不符：只能由失主本人领取",
    "found card {found_id} is {state}, not held: it cannot be handed over":
        "招领 {found_id} 号状态为“{state}”，不是“待领”：不能交还",
    # kiosk/retention.py
    "--older-than must be at least 1 day": "--older-than 至少为 1 天",
    # kiosk/reveal.py
    "unknown record kind \"{kind}\" ({kinds})": "未知的记录类型“{kind}”（可选：{kinds}）",
    "a {kind} record is named by its number, not {ref}": "{kind}记录按编号查找，{ref} 不是编号",
    "there is no {kind} record {ref}": "没有{kind}记录 {ref}",
    "the personal data of {kind} {ref} was purged (retention): there is nothing to show":
        "{kind}记录 {ref} 的个人信息已按保存期限清除：没有可查看的内容",
    # kiosk/tempcards.py
    "no photo decoder is configured ([temporary_card] photo_decoder): give the photo as an image file "
    "instead":
        "未配置照片解码程序（[temporary_card] photo_decoder）：请改为提供照片图像文件",
    "the card read has no photo: give the photo as an image file": "读取的证件中没有照片：请提供照片图像文件",
    "a temporary resident ID card is for citizens: this is a {card}": "临时居民身份证只为中国公民办理：此证件为{card}",
    "the photo decoder {decoder} failed: {why}": "照片解码程序 {decoder} 解码失败：{why}",
    "the photo {path} cannot be read as an image: {why}": "照片 {path} 无法作为图像读取：{why}",
    "a temporary resident ID card needs an 18-digit citizen ID number": "办理临时居民身份证须使用18位公民身份号码",
    "name": "姓名",
    "registered address": "户籍地址",
    "the sex must be 1 (male) or 2 (female), as on the card": "性别须为 1（男）或 2（女），与证件一致",
    "the sex does not match the ID number (its 17th digit is odd for a man, even for a woman): check "
    "both":
        "性别与公民身份号码不符（第17位数字男性为奇数、女性为偶数）：请核对两者",
    "unknown ethnic group code \"{code}\" (GB 3304: 01 to 56, 97, 98)":
        "未知的民族代码“{code}”（GB 3304：01至56、97、98）",
    "the {kind}'s ID number is not valid: {reason}": "{kind}的公民身份号码无效：{reason}",
    "{receipt} was sent to the printer {printer} and its card is not confirmed yet: print it on that "
    "printer, which settles it":
        "{receipt} 已发送到打印机 {printer}，尚未确认是否出证：请在该打印机上打印，以确认出证结果",
    "{receipt}'s personal data was purged: it cannot be printed": "{receipt} 的个人信息已清除：无法打印",
    "reason": "原因",
    "reason for voiding the card": "作废原因",
    "there is no temporary card {receipt}": "查无临时居民身份证 {receipt}",
    "the photo decoder {decoder} could not run: {why}": "照片解码程序 {decoder} 无法运行：{why}",
    "exit {code}": "退出码 {code}",
    "{kind}'s name": "{kind}姓名",
    "{number} already has a temporary card in the making ({receipt}, {state})":
        "{number} 已有一张正在办理的临时居民身份证（{receipt}，{state}）",
    "{number} holds a valid temporary card ({receipt}, valid to {valid_to}): void it first, with the "
    "reason":
        "{number} 持有一张仍在有效期内的临时居民身份证（{receipt}，有效期至 {valid_to}）：请先注明原因将其作废",
    "reason for the refusal": "驳回原因",
    "{receipt} is {state}: only a requested card is approved or refused":
        "{receipt} 当前为{state}：只有待审批的临时居民身份证才能批准或驳回",
    "{supervisor} took this request: a second person approves it (another supervisor signs in)":
        "此申请由 {supervisor} 受理：须由另一人审批（请另一位主管登录）",
    "reason for printing the card again": "补打原因",
    "{receipt} is already printed ({cards}, by {by}): look in the printer's output tray. Only a "
    "spoiled card is printed again, by a supervisor with the reason (reprint)":
        "{receipt} 已打印（{cards}，由 {by} 打印）：请查看打印机出证口。只有损坏的证才能补打，须由主管注明原因（补打）",
    "{receipt} is {state}: only an approved card is printed (a supervisor approves it first)":
        "{receipt} 当前为{state}：只有已批准的证才能打印（请先由主管审批）",
    "{receipt} is {state}: only an approved card is printed": "{receipt} 当前为{state}：只有已批准的证才能打印",
    "{receipt} is {state}: only a printed card is printed again": "{receipt} 当前为{state}：只有已打印的证才能补打",
    "whether {receipt}'s card came out cannot be told from the card printer {printer}: {why}. When {job} "
    "was sent: {before}; now: {now}. Nothing more is printed on it until a supervisor has looked in its "
    "output tray: is {receipt}'s card there? Then: cabin tempcard settle {receipt} --printed|--not-printed "
    "--reason ...":
        "无法从制证机 {printer} 判断 {receipt} 的证是否已出：{why}。发送 {job} 时：{before}；现在：{now}。在主管查看出证口"
        "之前，该制证机不再打印：{receipt} 的证是否在出证口？然后登记结果：cabin tempcard settle {receipt} "
        "--printed|--not-printed --reason ...",
    "cards inserted {cards}, panels printed {panels}, serial number {serial}":
        "已进卡 {cards} 张，已打印色面 {panels} 个，序列号 {serial}",
    "not recorded": "未记录",
    "a counter went back: the printer was reset or swapped": "计数倒退了：制证机被重置或更换过",
    "its counters moved by {cards} cards and {panels} panels: other cards were printed on it meanwhile":
        "其计数增加了 {cards} 张卡、{panels} 个色面：期间还打印了其他证",
    "it is another printer (its serial number changed): the printer was swapped": "序列号变了，已不是原来那台：制证机被更换过",
    "one card left the feeder but {panels} panels were printed, not the job's":
        "有一张卡离开了进卡器，但打印的色面数为 {panels}，与该任务不符",
    "one card left the feeder; the job was sent before the panels were counted":
        "有一张卡离开了进卡器；该任务发送时尚不记录色面计数",
    "its serial number is not known": "无法得知其序列号",
    "a card of {job} is stuck inside the card printer {printer}: open its cover, take the card out (a card "
    "with nothing printed on it is spoiled: shred it), close the cover and print again: the printer's "
    "counters then tell what came out":
        "{job} 的卡片卡在制证机 {printer} 内：请打开机盖取出卡片（未印上内容的卡已损坏：请销毁），合上机盖后重新打印："
        "届时由制证机的计数判断出了什么",
    "not recorded (the job was sent before serial numbers were)": "未记录（该任务发送时尚不记录序列号）",
    "unreadable": "无法读取",
    "{job} may still be printing (sent {seconds} s ago): wait {wait} s until the printer stops, then "
    "print again":
        "{job} 可能仍在打印（{seconds} 秒前发送）：请等待 {wait} 秒，打印机停止后再打印",
    "{receipt} has no print waiting to be settled": "{receipt} 没有待登记结果的打印",
    "the card font {font} ([temporary_card] font) does not exist": "证件字体 {font}（[temporary_card] font）不存在",
    "the card cannot be drawn: {why}": "无法生成证件版面：{why}",
    "{receipt} is {state}: there is nothing to void": "{receipt} 当前为{state}：无可作废",
    "{receipt} was sent to the printer {printer} and its card is not confirmed yet: print it on that "
    "printer first (it settles what came out), or a supervisor records by hand what came out (cabin "
    "tempcard settle)":
        "{receipt} 已发送到打印机 {printer}，尚未确认是否出证：请先在该打印机上打印（以确认出证结果），或由主管手工登记出证结果（cabin tempcard settle）",
    "the application {ref} is not this person's pending one ({pending})": "申请 {ref} 不是此人正在办理的申请（{pending}）",
    "power of attorney reference": "委托书编号",
    "the card printer {printer} is printing another card right now: wait for it and try again":
        "制证机 {printer} 正在打印另一张证：请等待打印完成后重试",
    "{receipt} was printed meanwhile (elsewhere): nothing was sent": "{receipt} 刚刚已在别处打印：本次未发送",
    "another print started on this printer or of this card meanwhile: try again": "此打印机或此证刚刚开始了另一次打印：请重试",
    "{count} cards": "{count} 张",
    "{count} card": "{count} 张",
    "{receipt} expired on {valid_to}: a new request is needed, not a reprint":
        "{receipt} 已于 {valid_to} 到期：须重新申请，不能补打",
    "document reference": "证明材料编号",
    # kiosk/temprules.py
    "unknown basis \"{basis}\" ({bases})": "未知的办理依据“{basis}”（{bases}）",
    "a cross-region resident gets a temporary card at the station of their household registration; "
    "this station's policy does not issue them ([temporary_card] cross_region = false)":
        "跨地区居民应到户籍地公安机关办理临时居民身份证；按本所政策不为其办理（[temporary_card] cross_region = false）",
    "a cross-region resident gets a temporary card here only once the home police have approved the "
    "main-card application made here; it is not approved yet":
        "跨地区居民须待户籍地公安机关批准其在本所提交的居民身份证申请后，方可在本所办理临时居民身份证；该申请尚未批准",
    "unknown agent \"{kind}\" (guardian or proxy)": "未知的代办人类型“{kind}”（监护人或受委托人）",
    "the {kind} cannot be the applicant": "{kind}不能是申请人本人",
    "the {kind} must be an adult ({adult} or over)": "{kind}须为成年人（年满 {adult} 周岁）",
    "a proxy needs a power of attorney: give its reference": "受委托人代办须有委托书：请填写委托书编号",
    "there is no main-card application for this person here: a temporary card is only for a citizen "
    "whose main card is being made (show the household register or the pending-card receipt, or accept "
    "the application first)":
        "此人在本所没有居民身份证申请：临时居民身份证只为居民身份证正在办理中的公民办理（请出示户口簿或受理回执，或先受理居民身份证申请）",
    "the main-card application is {state}, not pending: a temporary card is only for a citizen whose "
    "main card is being made":
        "居民身份证申请当前为{state}，不在办理中：临时居民身份证只为居民身份证正在办理中的公民办理",
    "name the document shown (its number or reference): the household register or the pending-card "
    "receipt proves that the main card is pending":
        "请填写所出示证明材料的编号：户口簿或受理回执可证明居民身份证正在办理中",
    "the applicant is {age}: under {below} the guardian applies (Art 9); give the guardian's ID number "
    "and name":
        "申请人 {age} 周岁：未满 {below} 周岁的由监护人代为申请（第九条）；请填写监护人的公民身份号码和姓名",
    "the applicant is {age}: a guardian applies only for a child under {below}; an adult applies in "
    "person or through a proxy with a power of attorney":
        "申请人 {age} 周岁：监护人只为未满 {below} 周岁的未成年人代为申请；成年人应本人申请，或由受委托人凭委托书代为申请",
    # kiosk/checks.py
    "it contains a terminal escape sequence": "含有终端控制序列",
    "the {field} must be text": "{field}必须是文字",
    "the {field} was not accepted: {reason}; type it again": "{field}未被接受：{reason}；请重新输入",
    "the {field} is too long ({length} characters, at most {max_length})":
        "{field}过长（{length} 个字符，最多 {max_length} 个）",
    "it contains an invisible direction mark (U+{code})": "含有不可见的文字方向标记（U+{code}）",
    "it contains a control character (U+{code})": "含有控制字符（U+{code}）",
    "it contains a broken character (a lone surrogate)": "含有损坏的字符（孤立的代理码位）",
    "it contains an invisible formatting character (U+{code})": "含有不可见的格式字符（U+{code}）",
    "an ID number ({number})": "身份证号（{number}）",
    "a phone number ({number})": "电话号码（{number}）",
    "the {field} cannot be empty": "{field}不能为空",
    "the {field} holds {found}: put it in its own field, not in the reason; a reason says why, never who":
        "{field}中含有{found}：请填在它自己的栏目里，不要写进原因；原因只写为什么，不写是谁",
    # kiosk/tickets.py
    "no ticket printer is configured (set [dispenser] ticket_printer in the station config)":
        "未配置号票打印机（请在站点配置中设置 [dispenser] ticket_printer）",
    "the ticket code names ticket {ticket_id} of {day}, which does not exist":
        "号票码所指的号票（{day}，编号 {ticket_id}）不存在",
    # kiosk/tokens.py
    "the station secret {path} can be read by others (mode {mode}): run chmod 600 {path}":
        "本站密钥 {path} 可被其他用户读取（权限 {mode}）：请运行 chmod 600 {path}",
    "the station secret {path} is damaged ({size} bytes, {expected} expected): restore it from the "
    "backup; a new one would void today's tickets":
        "本站密钥 {path} 已损坏（{size} 字节，应为 {expected} 字节）：请从备份恢复；换用新密钥会使今天已发的号票全部失效",
    "not a Cabin ticket code": "这不是本系统的号票码",
    "the ticket code is forged or damaged (its signature does not match)": "号票码是伪造的或已损坏（签名不符）",
    "the ticket is from another station ({station})": "这张号票是其他站点的（{station}）",
    "cannot read or create the station secret {path}: {why}": "无法读取或创建本站密钥 {path}：{why}",
    # kiosk/stationcopy.py
    "the station secret on the server is damaged: the tickets it signed could not be read here; nothing was copied":
        "服务器上的站点密钥已损坏：它签发的号票在这里将无法识别；未复制任何数据",
    "this PC already has another station secret ({path}): the tickets the server signed would not be read here;"
    " move that file aside (the tickets it signed stop being read) and copy again; nothing was copied":
        "本机已有另一个站点密钥（{path}）：服务器签发的号票在这里将无法识别；请将该文件移走（它签发的号票将不再能识别）后重新复制；未复制任何数据",
    "--from and --to name the same database: a copy goes into another one": "--from 与 --to 指的是同一个数据库：请复制到另一个数据库",
    "{path} was made by another program during the copy: nothing was copied there":
        "复制期间另一个程序建立了 {path}：未向其中复制任何内容",
    "the copy does not hold every row ({differ}): nothing was copied": "副本缺少部分记录（{differ}）：未复制任何内容",
    "the source's audit log is broken at entry {id} ({why}): `cabin audit verify` shows it; nothing was copied":
        "源数据库的审计日志在第 {id} 条处断裂（{why}）：`cabin audit verify` 可查看；未复制任何内容",
    "the copied audit log does not verify at entry {id} ({why}): nothing was copied":
        "复制后的审计日志在第 {id} 条处校验失败（{why}）：未复制任何内容",
    "the export of {day} from the copy differs from the source's ({files}): nothing was copied":
        "副本导出的 {day} 报表与源数据库的不同（{files}）：未复制任何内容",
    # queue/storecopy.py
    "the table {table} has other columns in the target: are both made by the same Cabin?":
        "目标数据库中的表 {table} 列不同：两者是否由同一版本的 Cabin 建立？",
    "the two databases do not hold the same tables ({source}: {ours}; {target}: {theirs}): are they made by the"
    " same Cabin?": "两个数据库的表不同（{source}：{ours}；{target}：{theirs}）：两者是否由同一版本的 Cabin 建立？",
    "{target} holds a station already ({what}): a station is copied into an empty database only":
        "{target} 已有站点数据（{what}）：只能复制到空数据库",
    # queue/engine.py
    "there is no window {window} (windows: {windows})": "没有{window}号窗口（现有窗口：{windows}）",
    "window {window} has nobody called or being served: nothing to {doing}":
        "{window}号窗口没有已叫号或正在办理的市民，无法{doing}",
    "{ticket} at window {window} is already being served: cannot {doing}":
        "{ticket} 已在{window}号窗口办理中，不能{doing}",
    "{ticket} at window {window} is {state}: cannot {doing}": "{window}号窗口的 {ticket} 状态为{state}，不能{doing}",
    "no ticket with id {id}": "没有编号为 {id} 的号票",
    "no ticket {ticket} today": "今天没有 {ticket} 号票",
    "a ticket needs at least one errand": "一张号票至少要有一项业务",
    "one ticket holds at most {limit} errands; {asked} were asked for": "一张号票最多办理 {limit} 项业务，现选了 {asked} 项",
    "an errand is listed twice on one ticket": "同一张号票上有重复的业务",
    "unknown priority class \"{priority}\" (classes: {classes})": "没有优先类别“{priority}”（现有类别：{classes}）",
    "transfer needs exactly one of --to-window or --to-service": "转窗须指定 --to-window 或 --to-service，且只能指定其一",
    "a window can be open, paused or closed, not \"{state}\"": "窗口只能开放、暂停或关闭，不能设为“{state}”",
    "\"{ref}\" is not a ticket: give today's number (A001) or a ticket id":
        "“{ref}”不是号票：请输入今天的号码（如 A001）或号票编号",
    "unknown service \"{code}\" (see `cabin config check --services`)":
        "没有业务“{code}”（可用 `cabin config check --services` 查看）",
    "window {window} is {state}: open it first (`cabin window open {window}`)":
        "{window}号窗口处于{state}状态：请先开窗（`cabin window open {window}`）",
    "window {window} still has {ticket} ({state}): complete, transfer or mark it no-show first":
        "{window}号窗口还有 {ticket}（{state}）：请先办结、转窗或标记过号",
    "nobody is waiting for window {window}": "{window}号窗口暂无等候的市民",
    "recall": "重呼",
    "mark no-show": "标记过号",
    "start": "开始办理",
    "complete": "办结",
    "transfer": "转窗",
    "{ticket} has no errand left to cancel": "{ticket} 没有可取消的业务",
    "{ticket} was not marked no-show: nothing to reactivate": "{ticket} 没有标记过号，无需恢复排队",
    "{ticket} is from {day}: issue a new ticket": "{ticket} 是 {day} 的号票：请重新取号",
    "{ticket} missed its call {minutes} minutes ago, more than {limit}: issue a new ticket":
        "{ticket} 已过号 {minutes} 分钟，超过 {limit} 分钟：请重新取号",
    "window {window} is serving {ticket}: complete or transfer it before pausing":
        "{window}号窗口正在办理 {ticket}：请先办结或转窗，再暂停窗口",
    "window {window} is serving {ticket}: complete or transfer it before closing":
        "{window}号窗口正在办理 {ticket}：请先办结或转窗，再关闭窗口",
    "{ticket} is already at window {window}": "{ticket} 已在{window}号窗口",
    "window {window} does not serve {service}": "{window}号窗口不办理{service}",
    "window {window} is closed: open it first or choose another window": "{window}号窗口已关闭：请先开窗，或选择其他窗口",
    "unknown service \"{code}\"": "没有业务“{code}”",
    "{ticket} is already for {service}": "{ticket} 办理的已是{service}",
    # kiosk/station.py
    "the station is on a PostgreSQL server, but this Cabin was installed without its driver: pip install"
    " 'cabin[postgres]'":
        "本站数据库在 PostgreSQL 服务器上，但本机安装的 Cabin 缺少其驱动：请执行 pip install 'cabin[postgres]'",
    "the station secret in the database {url} is damaged: restore the database from the server's backup;"
    " a new secret would void today's tickets":
        "数据库 {url} 中的本站密钥已损坏：请从服务器的备份恢复数据库；换用新密钥会使今天已发的号票全部失效",
    # queue/pgstore.py (the PostgreSQL store: the address shown without its password)
    "the database server cannot be reached ({url}): {why}; check the network and that the server is running,"
    " then try again":
        "无法连接数据库服务器（{url}）：{why}；请检查网络以及服务器是否在运行，然后重试",
    "the database {url} was changed by another window at the same moment: nothing was written; try again":
        "数据库 {url} 同时被另一个窗口修改：本次未写入任何内容；请重试",
    "the database {url} is busy: try again": "数据库 {url} 正忙：请重试",
    "the database {url} holds no station yet, or one made by an older Cabin, and this account may not make or"
    " update its tables: run `cabin init` once with the database owner's account (README: \"A station of several PCs\"), then start this one again":
        "数据库 {url} 尚无站点数据，或由旧版 Cabin 建立，本账户无权建立或升级其数据表：请先用数据库所有者的账户运行一次 `cabin init`"
        "（见 README“A station of several PCs”），再重新启动本程序",
    "the database {url} was closed": "数据库 {url} 已关闭",
    "the database {url} refuses this change to this account: {why}": "数据库 {url} 不允许此账户进行该修改：{why}",
    "the database server refused the password or account for {url}": "数据库服务器拒绝了 {url} 的密码或账户",
    "the database server has no database {name} ({url}): check the name in the URL, or have the server's"
    " administrator create it": "数据库服务器上没有数据库 {name}（{url}）：请检查地址中的库名，或请服务器管理员创建",
    "the database server does not let this account in from this PC ({url}): its administrator allows it in"
    " pg_hba.conf": "数据库服务器不允许该账户从本机登录（{url}）：请管理员在 pg_hba.conf 中放行",
    "database error in {url}: {why}": "数据库 {url} 出错：{why}",
    # queue/store.py
    "database error in {path}: {why}": "数据库 {path} 出错：{why}",
    "{variable}=\"{text}\" is not a whole number of milliseconds": "{variable}=\"{text}\" 不是以毫秒为单位的整数",
    "the database {path} is busy: another program has held it locked for {seconds} s; try again":
        "数据库 {path} 正忙：另一个程序已将其锁定 {seconds} 秒；请稍后再试",
    "the database {path} is read-only: check the file's and folder's permissions":
        "数据库 {path} 为只读：请检查该文件及所在文件夹的权限",
    "the database {path} is damaged or is not a Cabin database ({why})": "数据库 {path} 已损坏或不是 Cabin 数据库（{why}）",
    "the database {path} is damaged ({why}): restore the last backup with `cabin restore FILE` (`cabin doctor` shows"
    " the damage)": "数据库 {path} 已损坏（{why}）：请用 `cabin restore FILE` 恢复最近的备份（`cabin doctor` 可显示损坏情况）",
    "cannot open the database {path} ({why})": "无法打开数据库 {path}（{why}）",
    "the database {path} cannot be written: {why}": "数据库 {path} 无法写入：{why}",
    "cannot open the database {path}: {folder} is not a folder": "无法打开数据库 {path}：{folder} 不是文件夹",
    "cannot open the database {path}: {why}": "无法打开数据库 {path}：{why}",
    "the database {path} is not a Cabin database (it holds other tables: {tables})":
        "数据库 {path} 不是 Cabin 数据库（其中有其他表：{tables}）",
    "the database {path} cannot use WAL journaling (got {mode}); is it on a network drive?":
        "数据库 {path} 无法使用 WAL 日志模式（实际为 {mode}）；它是否位于网络驱动器上？",
    "cannot write beside the database {path}: {why}": "无法在数据库 {path} 所在的文件夹中写入：{why}",
    "cannot open the database {path}: it is a folder": "无法打开数据库 {path}：它是一个文件夹",
    "cannot open the database {path}: it is not a file": "无法打开数据库 {path}：它不是普通文件",
    "it is not an SQLite file": "它不是 SQLite 文件",
    "there is no database at {path}": "{path} 处没有数据库",
    "the database {path} is empty: it holds no station; restore the last backup with `cabin restore FILE`,"
    " or make a new station in it with `cabin --db {path} init --replace-empty`":
        "数据库 {path} 是空的，其中没有本所的数据：请用 `cabin restore 文件` 恢复最近的备份，"
        "或用 `cabin --db {path} init --replace-empty` 在其中新建本所数据库",
    "the database {path} is not empty: a new station is made only in an empty file":
        "数据库 {path} 不是空的：只能在空文件中新建本所数据库",
    "the database {path} can be read by other accounts (mode {mode}): run chmod 600 {files}":
        "数据库 {path} 可被其他账户读取（权限 {mode}）：请运行 chmod 600 {files}",
    "the database {path} is read-only here: it can be read and exported, but nothing can be written to it"
    " (check the file's and folder's permissions and the mount)":
        "数据库 {path} 在此为只读：可以查看和导出，但不能写入（请检查文件、文件夹的权限及挂载方式）",
    "the database {path} is read-only and was made by an older Cabin: open it once where it can be written,"
    " to bring it up to date":
        "数据库 {path} 为只读，且由旧版 Cabin 创建：请先在可写的位置打开一次，以升级其结构",
    "the database {path} is damaged ({why}): nothing was written; restore the last backup with"
    " `cabin restore FILE` (`cabin doctor` shows the damage)":
        "数据库 {path} 已损坏（{why}）：未写入任何内容；请用 `cabin restore 文件` 恢复最近的备份"
        "（`cabin doctor` 可查看损坏情况）",
    # kiosk/ratings.py
    "no errand has been completed at window {window} yet": "{window}号窗口尚未办结任何业务",
    "the errand last completed at window {window} was completed more than {seconds} s ago: it can no longer be rated":
        "{window}号窗口最近办结的业务已超过 {seconds} 秒：不能再评价",
    "the errand last completed at window {window} is rated already": "{window}号窗口最近办结的业务已评价，不能重复评价",
    "a rating's level is 1 (very satisfied) to 5 (very dissatisfied), not {level}":
        "评价等级为 1（非常满意）至 5（非常不满意），不是 {level}",
    "unknown rating reason \"{reason}\" (reasons: {reasons})": "未知的评价原因“{reason}”（可选：{reasons}）",
    "a rating of {level} needs a reason (reasons: {reasons})": "评价为 {level} 级须选择原因（可选：{reasons}）",
    "rating {rating_id} is not a bad rating (dissatisfied or very dissatisfied): it needs no follow-up":
        "评价 {rating_id} 不是差评（不满意或非常不满意）：无需整改",
    "rating {rating_id} was followed up already, by {name}": "评价 {rating_id} 已由 {name} 整改",
    "there is no rating {rating_id}": "没有评价 {rating_id}",
    # kiosk/paths.py
    "the data folder {path} can be used by other accounts (mode {mode}): run chmod 700 {quoted}":
        "数据文件夹 {path} 可被其他账户访问（权限 {mode}）：请运行 chmod 700 {quoted}",
}

# The values said in words rather than shown as they are: only these names, so an account
# called "admin" or a typed "open" is never translated.
WORD_VALUES = frozenset({"state", "to", "role", "needed", "kind", "first", "second", "one", "other", "what", "field"})

# The service layers' words that appear as such values (states, roles, kinds, field names).
WORDS: dict[str, str] = {
    # states (errands, windows, temporary cards, applications, loss reports, found cards)
    "pending": "待办", "waiting": "等候中", "called": "已叫号", "serving": "办理中", "done": "已办结", "no_show": "过号",
    "cancelled": "已取消", "transferred": "已转出", "expired": "已过期", "open": "开放", "paused": "暂停",
    "closed": "关闭", "requested": "待审批", "approved": "已批准", "refused": "已驳回", "printed": "已打印",
    "voided": "已作废", "accepted": "已受理", "received": "已到证", "collected": "已领取", "reported": "已挂失",
    "replaced": "已补领", "held": "待领", "destroyed": "已销毁", "returned": "已领取",
    # roles
    "clerk": "窗口民警", "supervisor": "主管", "admin": "管理员",
    # kinds (agents, applications, records)
    "guardian": "监护人", "proxy": "受委托人", "first": "首次申领", "renewal": "换领", "replacement": "补领",
    "loss": "挂失", "found": "招领", "application": "居民身份证申领", "intake": "业务受理", "tempcard": "临时居民身份证",
    # the names of the fields a refusal is about
    "ID number": "公民身份号码",
    "reported card's number": "挂失证件的号码",
    "applicant's ID number": "申请人的公民身份号码",
    "presented card's number": "出示证件的号码",
    "found card's number": "拾获证件的号码",
    "owner's ID number": "失主的公民身份号码",
    "finder's name": "拾获人姓名",
    "finder's phone": "拾获人电话",
    "place found": "拾获地点",
    "reason": "原因",
    "reason for typing the number by hand": "手工录入号码的原因",
    "reason for showing the personal data": "查看完整个人信息的原因",
    "name": "姓名",
    "registered address": "户籍地址",
    "document reference": "证明文件编号",
    "guardian's name": "监护人姓名",
    "proxy's name": "受委托人姓名",
    "power of attorney reference": "委托书编号",
    "reason for the refusal": "不予批准的原因",
    "reason for printing the card again": "重新制证的原因",
    "reason for voiding the card": "作废证件的原因",
    "follow-up note": "整改说明",
}


def say(what, lang: str) -> str:
    """`what` (a CabinError, a Said, or any text) in `lang`."""
    said = what.said if isinstance(what, CabinError) else what
    if lang == "en" or not isinstance(said, Said):
        return str(said)
    template = REFUSALS.get(said.template)
    if template is None:
        return str(said)
    return template.format(**{name: _value(name, value, lang) for name, value in said.values.items()})


def _value(name: str, value, lang: str) -> str:
    if isinstance(value, (Said, CabinError)):
        return say(value, lang)
    if isinstance(value, str) and name in WORD_VALUES:
        return WORDS.get(value, value)
    return str(value)
