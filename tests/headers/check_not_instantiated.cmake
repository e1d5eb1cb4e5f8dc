# tests/headers/check_not_instantiated.cmake: fails if an object defines the
# replica's message handling (step, step_as, tick or an on_* handler), which
# an explicit instantiation declaration should have left to another unit.
# Inline members (is_leader, ready, ...) may still be emitted at -O0; they
# are small and not what the declaration is for.
#   cmake -DNM=<nm> -DOBJECTS=<object files> -P check_not_instantiated.cmake
if(NOT NM OR NOT OBJECTS)
    message(FATAL_ERROR "usage: cmake -DNM=<nm> -DOBJECTS=<objects> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
foreach(object IN LISTS OBJECTS)
    execute_process(COMMAND "${NM}" -C --defined-only "${object}"
                    OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "${NM} failed on ${object}")
    endif()
    string(REGEX MATCHALL "[^\n]*replica<[^\n]*::(step|step_as<[^>]*>|tick|on_[a-z_]+)\\([^\n]*"
           found "${symbols}")
    if(found)
        list(JOIN found "\n" found)
        message(FATAL_ERROR "${object} instantiates the replica's handlers:\n${found}")
    endif()
endforeach()
message(STATUS "no replica handler defined in ${OBJECTS}")
