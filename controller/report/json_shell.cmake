target_sources(botscope_report PRIVATE json_shell.cpp)
