#include <stdio.h>
int main(void){puts("writing to null");fflush(stdout);*(volatile int*)0=1;return 0;}
