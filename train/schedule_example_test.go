package train_test

import (
	"encoding/json"
	"fmt"
	"log"

	"sgdlab/train"
)

// This builds the E1 "decay at 10 %" schedule of the diagonal linear
// network from its JSON form. The authors' code divides η after the update
// at t = 10000, so the divided rate starts at update 10001.
func ExampleScheduleSpec_Schedule() {
	const config = `{"kind": "piecewise", "lr": 0.282, "decays": [{"at": 10001, "factor": 4.8}]}`

	var spec train.ScheduleSpec
	if err := json.Unmarshal([]byte(config), &spec); err != nil {
		log.Fatal(err)
	}
	s, err := spec.Schedule()
	if err != nil {
		log.Fatal(err)
	}
	for _, i := range []int{0, 10000, 10001, 100000} {
		fmt.Printf("update %6d: η = %.5g\n", i, s.Rate(i))
	}
	fmt.Println(s)
	fmt.Println("marks:", s.Marks())
	// Output:
	// update      0: η = 0.282
	// update  10000: η = 0.282
	// update  10001: η = 0.05875
	// update 100000: η = 0.05875
	// η=0.282, ÷4.8 at 10001
	// marks: [10001]
}
