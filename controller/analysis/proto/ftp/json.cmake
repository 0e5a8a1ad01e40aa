# The report's `ftp` section and ftp.jsonl's lines: compiled into the report library, which
# owns the JSON code; kept here so that a protocol lives in one folder.
target_sources(botscope_report PRIVATE ${CMAKE_CURRENT_LIST_DIR}/ftp_json.cpp)
