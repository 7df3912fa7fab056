"""Chinese headers of the daily export's figures and columns (the XLSX workbook and the chart).

The JSON and CSV files use the keys themselves (stable, documented in the README); people read
the workbook. Figures the caller adds (the counter's business) bring their own labels.
"""

LABELS = {
    "station": "派出所代码",
    "station_name": "派出所",
    "district": "辖区代码",
    "timezone": "时区",
    "day": "日期",
    "complete": "全天数据",
    "observed_until": "统计截至",
    "category": "类别",
    "name": "名称",
    "service": "业务代码",
    "window": "窗口",
    "clerk": "工作人员",
    "hour": "时段（点）",
    "tickets_issued": "取号数",
    "errands_requested": "申办事项数",
    "errands_done": "办结事项数",
    "errands_no_show": "过号事项数",
    "errands_cancelled": "取消事项数",
    "errands_transferred": "转办事项数",
    "errands_expired": "过期未办事项数",
    "errands_open": "尚未办结事项数",
    "calls": "叫号次数",
    "wait_p50_min": "等候时间中位数（分钟）",
    "wait_p90_min": "等候时间90%分位（分钟）",
    "wait_max_min": "最长等候（分钟）",
    "sla_target_min": "等候目标（分钟）",
    "sla_share": "目标内叫号占比",
    "service_p50_min": "办理时长中位数（分钟）",
    "service_p90_min": "办理时长90%分位（分钟）",
    "multi_errand_tickets": "多事项取号数",
    "one_stop_tickets": "一次排队办结数",
    "one_stop_share": "一次排队办结占比",
    "windows_open_min": "窗口开放时长（分钟）",
    "windows_busy_min": "窗口忙碌时长（分钟）",
    "windows_idle_min": "窗口空闲时长（分钟）",
    "open_min": "开放时长（分钟）",
    "busy_min": "忙碌时长（分钟）",
    "idle_min": "空闲时长（分钟）",
}

SHEETS = {
    "summary": "汇总",
    "by_category": "按类别",
    "by_service": "按业务",
    "by_window": "按窗口",
    "by_clerk": "按工作人员",
    "by_hour": "按时段",
    "by_station": "按派出所",
}

NOT_RECORDED = "（未记录）"  # a clerk the events do not name, as the workbook shows it
