#include <gtest/gtest.h>
#include <systemc>

// SystemC owns main(); googletest runs from sc_main instead.
int sc_main(int argc, char* argv[]) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
