#include <stdio.h>
int main(void){puts("expected 3, got 4");return 1;}
