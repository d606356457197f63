# Helpers shared by every folder: warnings, sanitizers, library and test targets.

set(SYNMAP_WARNINGS -Wall -Wextra -Wpedantic -Wshadow)
if(SYNMAP_WERROR)
  list(APPEND SYNMAP_WARNINGS -Werror)
endif()
if(SYNMAP_SANITIZE MATCHES thread AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC warns that TSan does not model std::atomic_thread_fence; the store takes a copying
  # path under TSan instead of relying on the fence (collector/store/internal/aggregate_index.cc).
  list(APPEND SYNMAP_WARNINGS -Wno-tsan)
endif()

if(SYNMAP_SANITIZE)
  add_compile_options(-fsanitize=${SYNMAP_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SYNMAP_SANITIZE})
endif()

# TSan builds only: Debian's libabsl and libgrpc are not instrumented, so every executable gets
# tests/testing/tsan_absl_shim.cc, which interposes absl::Mutex/CondVar/Notification/
# BlockingCounter, and tests/testing/tsan_grpc_shim.cc, which interposes the gRPC core calls that
# start and reap operations; both tell TSan about the happens-before edges those libraries
# provide. Other builds are unchanged.
set(SYNMAP_TSAN_SHIM "")
if(SYNMAP_SANITIZE MATCHES thread)
  add_library(tsan_absl_shim OBJECT ${CMAKE_CURRENT_LIST_DIR}/../tests/testing/tsan_absl_shim.cc
    ${CMAKE_CURRENT_LIST_DIR}/../tests/testing/tsan_grpc_shim.cc)
  target_compile_options(tsan_absl_shim PRIVATE ${SYNMAP_WARNINGS})
  # Export the shims' definitions from the executable so that libabsl's, libgrpc's and
  # libgrpc++'s own calls bind to them too, not only calls from our code.
  set(dynlist ${CMAKE_BINARY_DIR}/tsan_absl_shim.dynlist)
  file(WRITE ${dynlist} "{ _ZN4absl*5Mutex*; _ZNK4absl*5Mutex*; _ZN4absl*7CondVar*;\n"
    "  _ZN4absl*12Notification*; _ZNK4absl*12Notification*; _ZN4absl*15BlockingCounter*;\n"
    "  _ZNK4absl*9Condition4EvalEv; _ZN4absl*6Status15UnrefNonInlinedEm;\n"
    "  grpc_call_start_batch; grpc_server_request_call; grpc_server_request_registered_call;\n"
    "  grpc_completion_queue_next; grpc_completion_queue_pluck; };\n")
  target_link_options(tsan_absl_shim INTERFACE "LINKER:--export-dynamic-symbol-list=${dynlist}")
  target_link_libraries(tsan_absl_shim PUBLIC ${CMAKE_DL_LIBS})
  set(SYNMAP_TSAN_SHIM tsan_absl_shim)
endif()

# synmap_library(NAME n SRCS a.cc ... [DEPS ...] [PUBLIC_DEPS ...])
# Declares static library `n` with alias synmap::n. Include paths start at the repo root.
function(synmap_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(synmap::${ARG_NAME} ALIAS ${ARG_NAME})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${SYNMAP_WARNINGS})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()

# synmap_binary(NAME n SRCS ... DEPS ...)
function(synmap_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${SYNMAP_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} ${SYNMAP_TSAN_SHIM})
endfunction()

# synmap_test(NAME n SRCS ... DEPS ... LABELS unit|integration [TIMEOUT s])
function(synmap_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT SYNMAP_BUILD_TESTS)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${SYNMAP_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main
    ${SYNMAP_TSAN_SHIM})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  # Where the tests find the repository and the built binaries (see tests/testing/temp_dir.h).
  target_compile_definitions(${ARG_NAME} PRIVATE
    SYNMAP_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}" SYNMAP_TEST_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # One CTest test per test binary: gtest_discover_tests cannot carry list-valued properties
  # (several LABELS, several ENVIRONMENT entries) to the tests it discovers.
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set_tests_properties(${ARG_NAME} PROPERTIES
    LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "SYNMAP_SOURCE_DIR=${PROJECT_SOURCE_DIR};SYNMAP_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# Adds every immediate subfolder of the current source folder that has a CMakeLists.txt,
# so a new component only needs its own CMakeLists.txt.
function(synmap_add_all_subdirectories)
  file(GLOB children RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
       AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
