/* main.c: the wgrelay program; everything else lives in wgrelay_core (cli.c). */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
