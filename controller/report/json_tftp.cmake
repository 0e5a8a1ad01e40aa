target_sources(botscope_report PRIVATE json_tftp.cpp)
