target_sources(botscope_report PRIVATE json_ftp.cpp)
